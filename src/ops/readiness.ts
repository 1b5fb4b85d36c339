/**
 * GET /readyz: can this instance take writes now? /healthz says the
 * process answers; readiness adds what a load balancer or `systemctl` health
 * check cares about: the schema is the one this binary runs, and the
 * database file and its directory (WAL, backups) are writable. Each check is
 * cheap (no write lock is taken), so probing every second costs nothing.
 */
import type { Database } from "bun:sqlite";
import { accessSync, constants } from "node:fs";
import { dirname } from "node:path";
import { SCHEMA_VERSION, schemaVersion } from "../store/migrations.ts";

export function readiness(db: Database, path: string): () => { ready: boolean; checks: Record<string, string> } {
  return () => {
    const checks: Record<string, string> = {};
    try {
      const v = schemaVersion(db);
      checks.schema = v === SCHEMA_VERSION ? "ok" : `version ${v}, expected ${SCHEMA_VERSION}`;
    } catch (e) {
      checks.schema = `unreadable: ${(e as Error).message}`;
    }
    if (path === ":memory:") checks.writable = "ok";
    else {
      try {
        accessSync(path, constants.W_OK);
        accessSync(dirname(path), constants.W_OK);
        checks.writable = db.query<{ query_only: number }, []>("PRAGMA query_only").get()?.query_only ? "read-only connection" : "ok";
      } catch (e) {
        checks.writable = `not writable: ${(e as { code?: string }).code ?? (e as Error).message}`;
      }
    }
    return { ready: Object.values(checks).every((c) => c === "ok"), checks };
  };
}
