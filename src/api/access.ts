/**
 * What each Results and Logs RPC does and to which resource, read from its request
 * message alone: the authorizer decides on this before the service looks
 * anything up, so a refused caller learns nothing about what exists.
 *
 * Each rule also names the call in upstream's RBAC terms (spec §6.3:
 * resource and verb in group results.tekton.dev), which mode kubernetes
 * asks the cluster about, so upstream's ClusterRoles work unchanged.
 */
import type { Access, Action, RbacCheck } from "../core/auth.ts";

export interface CallAccess extends Access {
  /** The resource named by the request (name or parent), for the audit log. */
  resource: string;
}

type Req = { name?: string; parent?: string; record?: { name?: string }; result?: { name?: string } };

type Field = "name" | "parent" | "record.name" | "name|result.name";
const ruleOf = (action: Action, field: Field, resource: RbacCheck["resource"], verb: RbacCheck["verb"], list = false) => ({
  action,
  field,
  list,
  rbac: [{ resource, verb }] as RbacCheck[],
});

const ACTIONS: Record<string, { action: Action; field: Field; list: boolean; rbac: readonly RbacCheck[] }> = {
  createResult: ruleOf("write", "parent", "results", "create"),
  getResult: ruleOf("read", "name", "results", "get"),
  // The service falls back to result.name when name is empty (compatibility #9): so does the check.
  updateResult: ruleOf("write", "name|result.name", "results", "update"),
  deleteResult: ruleOf("delete", "name", "results", "delete"),
  listResults: ruleOf("read", "parent", "results", "list", true),
  createRecord: ruleOf("write", "parent", "records", "create"),
  getRecord: ruleOf("read", "name", "records", "get"),
  updateRecord: ruleOf("write", "record.name", "records", "update"),
  deleteRecord: ruleOf("delete", "name", "records", "delete"),
  listRecords: ruleOf("read", "parent", "records", "list", true),
  // Upstream checks "get" on records for summaries, not "list" (spec §6.3).
  getRecordListSummary: ruleOf("read", "parent", "records", "get", true),
  // Logs (v1alpha2 and v1alpha3's GetLog). UpdateLog is checked per message: each names its log.
  getLog: ruleOf("read", "name", "logs", "get"),
  listLogs: ruleOf("read", "parent", "logs", "list", true),
  // Upstream's UpdateLog also calls UpdateRecord, which checks records/update: both are needed there, so here too.
  updateLog: { action: "write", field: "name", list: false, rbac: [{ resource: "logs", verb: "update" }, { resource: "records", verb: "update" }] },
  deleteLog: ruleOf("delete", "name", "logs", "delete"),
  // The Dashboard's route names a pod, not a parent: checked like a "-" list, and the
  // caller's scope is applied to what is found (src/core/logs-service.ts openContainerLog).
  containerLog: ruleOf("read", "parent", "logs", "get", true),
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
  return { action: rule.action, parent: slash < 0 ? trimmed : trimmed.slice(0, slash), list: rule.list, rbac: rule.rbac, resource };
}
