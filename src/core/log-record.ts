/**
 * Log records (`results.tekton.dev/v1alpha3.Log`) are normalised on store as
 * upstream does: kind and apiVersion forced, spec.type defaulted, unknown
 * fields dropped and every status field present. Clients that read log
 * records (tkn-results, the Dashboard) rely on that shape.
 */
import { invalidArgument } from "./errors.ts";

export const LOG_TYPE_V1ALPHA3 = "results.tekton.dev/v1alpha3.Log";
export const LOG_TYPE_V1ALPHA2 = "results.tekton.dev/v1alpha2.Log";
/** Hindsight keeps log bytes in its own store; "File" is upstream's nearest storage type. */
export const DEFAULT_LOG_STORAGE_TYPE = "File";

export const isLogType = (t: string) => t === LOG_TYPE_V1ALPHA3 || t === LOG_TYPE_V1ALPHA2;

type Obj = { [k: string]: unknown };
const obj = (v: unknown): Obj => (typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Obj) : {});

function str(o: Obj, k: string, field: string): string {
  const v = o[k];
  if (v === undefined || v === null) return "";
  if (typeof v !== "string") throw invalidArgument(`${field}.${k}: must be a string`);
  return v;
}

export function normalizeLogRecord(doc: unknown, field: string): string {
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
    throw invalidArgument(`${field}: a Log must be a JSON object`);
  }
  const d = doc as Obj;
  const spec = obj(d.spec);
  const res = obj(spec.resource);
  const status = obj(d.status);
  const size = status.size ?? 0;
  if (typeof size !== "number" || !Number.isInteger(size)) throw invalidArgument(`${field}.status.size: must be an integer`);
  const resource: Obj = {};
  const kind = str(res, "kind", `${field}.spec.resource`);
  if (kind) resource.kind = kind;
  resource.namespace = str(res, "namespace", `${field}.spec.resource`);
  resource.name = str(res, "name", `${field}.spec.resource`);
  const uid = str(res, "uid", `${field}.spec.resource`);
  if (uid) resource.uid = uid;
  const out: Obj = {
    kind: "Log",
    apiVersion: "results.tekton.dev/v1alpha3",
    metadata: d.metadata === undefined ? { creationTimestamp: null } : d.metadata,
    spec: { resource, type: str(spec, "type", `${field}.spec`) || DEFAULT_LOG_STORAGE_TYPE },
    status: {
      ...(str(status, "path", `${field}.status`) ? { path: status.path } : {}),
      size,
      isStored: status.isStored === true,
      errorOnStoreMsg: str(status, "errorOnStoreMsg", `${field}.status`),
      isRetryableErr: status.isRetryableErr === true,
    },
  };
  return JSON.stringify(out);
}
