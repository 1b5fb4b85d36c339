/**
 * The audit trail: one structured log line per write, delete and refused
 * call (and per token change, from the CLI), with who, what, which resource
 * and how it ended. Reads that succeed are not audited: they are the bulk
 * of the traffic and change nothing. Secrets never reach this function —
 * callers pass the identity's name, not the credential.
 */
import { log } from "../log.ts";

export interface AuditEntry {
  /** Identity name; "-" when the caller could not be identified. */
  identity: string;
  /** RPC (e.g. "CreateRecord") or command ("token create"). */
  method: string;
  resource: string;
  /** "ok", "denied", or the error code a permitted call failed with. */
  outcome: string;
  /** The error code of a denial (unauthenticated, permission_denied, unavailable). */
  code?: string;
}

export function audit(e: AuditEntry): void {
  log.info("audit", { ...e, resource: e.resource.slice(0, 300) });
}
