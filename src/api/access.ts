/**
 * What each Results and Logs RPC does and to which resource, read from its request
 * message alone: the authorizer decides on this before the service looks
 * anything up, so a refused caller learns nothing about what exists.
 */
import type { Access, Action } from "../core/auth.ts";

export interface CallAccess extends Access {
  /** The resource named by the request (name or parent), for the audit log. */
  resource: string;
}

type Req = { name?: string; parent?: string; record?: { name?: string }; result?: { name?: string } };

const ACTIONS: Record<string, { action: Action; field: "name" | "parent" | "record.name" | "name|result.name"; list?: boolean }> = {
  createResult: { action: "write", field: "parent" },
  getResult: { action: "read", field: "name" },
  // The service falls back to result.name when name is empty (compatibility #9): so does the check.
  updateResult: { action: "write", field: "name|result.name" },
  deleteResult: { action: "delete", field: "name" },
  listResults: { action: "read", field: "parent", list: true },
  createRecord: { action: "write", field: "parent" },
  getRecord: { action: "read", field: "name" },
  updateRecord: { action: "write", field: "record.name" },
  deleteRecord: { action: "delete", field: "name" },
  listRecords: { action: "read", field: "parent", list: true },
  getRecordListSummary: { action: "read", field: "parent", list: true },
  // Logs (v1alpha2 and v1alpha3's GetLog). UpdateLog is checked per message: each names its log.
  getLog: { action: "read", field: "name" },
  listLogs: { action: "read", field: "parent", list: true },
  updateLog: { action: "write", field: "name" },
  deleteLog: { action: "delete", field: "name" },
  // The Dashboard's route names a pod, not a parent: checked like a "-" list, and the
  // caller's scope is applied to what is found (src/core/logs-service.ts openContainerLog).
  containerLog: { action: "read", field: "parent", list: true },
};

/** Whether `method` (a localName) is known here; every Results and Logs RPC must be. */
export const hasAccessRule = (method: string) => method in ACTIONS;

/**
 * The access a call asks for. The parent is the resource's first segment
 * (names are "parent/results/..."), taken as written: a malformed name
 * still gets checked against the caller's parents, so a scoped caller gets
 * PERMISSION_DENIED rather than a hint about the name.
 */
export function accessOf(method: string, req: unknown): CallAccess {
  const rule = ACTIONS[method];
  if (!rule) throw new Error(`no access rule for ${method}`);
  const r = req as Req;
  const resource =
    (rule.field === "record.name" ? r.record?.name : rule.field === "name|result.name" ? r.name || r.result?.name : r[rule.field]) ?? "";
  const trimmed = rule.list ? resource.trim() : resource;
  const slash = trimmed.indexOf("/");
  return { action: rule.action, parent: slash < 0 ? trimmed : trimmed.slice(0, slash), list: rule.list ?? false, resource };
}
