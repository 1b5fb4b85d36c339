/**
 * Kubernetes run -> Results mapping, as pure functions (spec §8.2-8.4):
 * which Result and Record a TaskRun, PipelineRun or CustomRun goes to, the
 * record's type and value, and the Result's annotations and summary.
 *
 * Upstream's behaviour is followed except where it loses information
 * (docs/compatibility.md, W1-W6): every terminal failure reason is FAILURE,
 * annotation-only changes reach the Result, `summaryAnnotations` keys are
 * read from annotations, and a malformed resultAnnotations annotation is
 * skipped instead of blocking the run's storage.
 */
import { createHash } from "node:crypto";
import type { DesiredResult } from "../core/upsert.ts";
import { SummaryStatus, type Annotations, type RecordSummary, type ResultResource } from "../core/types.ts";

// ---- object shape --------------------------------------------------------------

export interface OwnerReference {
  apiVersion?: string;
  kind?: string;
  name?: string;
  uid?: string;
  controller?: boolean;
}

export interface ObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
  deletionTimestamp?: string;
  creationTimestamp?: string;
  [k: string]: unknown;
}

export interface Condition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

/** A Kubernetes object as it comes off the wire (only the parts read here are typed). */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  spec?: Record<string, unknown>;
  status?: {
    conditions?: Condition[];
    startTime?: string;
    completionTime?: string;
    podName?: string;
    childReferences?: Array<{ apiVersion?: string; kind?: string; name?: string; pipelineTaskName?: string }>;
    [k: string]: unknown;
  };
  [k: string]: unknown;
}

// ---- exact keys ----------------------------------------------------------------------

export const ANNOTATION = {
  result: "results.tekton.dev/result",
  record: "results.tekton.dev/record",
  log: "results.tekton.dev/log",
  eventList: "results.tekton.dev/eventlist",
  stored: "results.tekton.dev/stored",
  childReadyForDeletion: "results.tekton.dev/childReadyForDeletion",
  resultAnnotations: "results.tekton.dev/resultAnnotations",
  recordSummaryAnnotations: "results.tekton.dev/recordSummaryAnnotations",
  /** Hindsight's own: the cluster a Result came from. */
  cluster: "hindsight.dev/cluster",
} as const;

export const TRIGGERS_EVENT_ID_LABEL = "triggers.tekton.dev/triggers-eventid";
export const OBJECT_NAME_ANNOTATION = "object.metadata.name";
export const EVENT_LIST_TYPE = "results.tekton.dev/v1.EventList";

/** Finalizer per kind, upstream's names. */
export function finalizerFor(kind: string): string {
  return `results.tekton.dev/${kind.toLowerCase()}`;
}

// ---- names ---------------------------------------------------------------------------

export interface MappingOptions {
  /** The cluster's name, written to every Result as `hindsight.dev/cluster`. */
  cluster: string;
  /** Parent for a namespace (already rendered from the template, see parentFor). */
  parentOf: (namespace: string) => string;
  /** Label keys copied into the Result's annotations (top-level runs). Default: tekton.dev/pipeline. */
  summaryLabels: readonly string[];
  /** Annotation keys copied into the Result's annotations (top-level runs). */
  summaryAnnotations: readonly string[];
}

export const DEFAULT_SUMMARY_LABELS = ["tekton.dev/pipeline"] as const;

const SEGMENT_RE = /^[a-z0-9_-]{1,63}$/;

/**
 * Renders a parent template with `{cluster}` and `{namespace}`. The result
 * is made a valid name segment: lowercase, other characters as "-", and when
 * longer than 63 characters cut and suffixed with a hash of the whole, so two
 * long names never meet.
 */
export function renderParent(template: string, cluster: string, namespace: string): string {
  const raw = template.replaceAll("{cluster}", cluster).replaceAll("{namespace}", namespace);
  let s = raw.toLowerCase().replace(/[^a-z0-9_-]/g, "-");
  if (s === "") s = "-";
  if (s.length > 63 || (s !== raw && !SEGMENT_RE.test(s))) {
    const h = createHash("sha256").update(raw).digest("hex").slice(0, 8);
    s = `${s.slice(0, 54)}-${h}`;
  }
  return s;
}

/** Placeholders a parent template may use. */
export const PARENT_PLACEHOLDERS = ["{cluster}", "{namespace}"] as const;

export function checkParentTemplate(template: string): string | null {
  const unknown = template.match(/\{[^}]*\}/g)?.filter((p) => !(PARENT_PLACEHOLDERS as readonly string[]).includes(p));
  if (unknown?.length) return `unknown placeholder ${unknown[0]} (known: ${PARENT_PLACEHOLDERS.join(", ")})`;
  if (template.trim() === "") return "must not be empty";
  return null;
}

const meta = (o: KubeObject): ObjectMeta => o.metadata ?? {};

/**
 * Top-level: not owned by another Tekton object. Upstream requires no owner
 * at all, so a PipelineRun owned by, say, a Konflux Component got no summary;
 * here only Tekton owners (a PipelineRun over its TaskRuns) make a child.
 */
export function isTopLevel(o: KubeObject): boolean {
  return !(meta(o).ownerReferences ?? []).some((r) => (r.apiVersion ?? "").startsWith("tekton.dev/"));
}

/** The PipelineRun owning this object, if any (kind compared case-insensitively, as upstream). */
export function pipelineRunOwner(o: KubeObject): OwnerReference | null {
  return (meta(o).ownerReferences ?? []).find((r) => (r.kind ?? "").toLowerCase() === "pipelinerun") ?? null;
}

/**
 * The Result a run belongs to, first match wins: the
 * `results.tekton.dev/result` annotation verbatim; the Triggers event id;
 * the owning PipelineRun's uid; the run's own uid.
 */
export function resultNameOf(o: KubeObject, opts: Pick<MappingOptions, "parentOf">): string {
  const m = meta(o);
  const ann = m.annotations?.[ANNOTATION.result];
  if (ann) return ann;
  const parent = opts.parentOf(m.namespace ?? "");
  const eventId = m.labels?.[TRIGGERS_EVENT_ID_LABEL];
  if (eventId) return `${parent}/results/${eventId}`;
  const owner = pipelineRunOwner(o);
  if (owner?.uid) return `${parent}/results/${owner.uid}`;
  return `${parent}/results/${m.uid ?? ""}`;
}

/**
 * The Record: the `results.tekton.dev/record` annotation, but only on
 * top-level objects (an owned object may carry its parent's copy);
 * otherwise `<result>/records/<uid>`.
 */
export function recordNameOf(o: KubeObject, resultName: string): string {
  const ann = meta(o).annotations?.[ANNOTATION.record];
  if (ann && isTopLevel(o)) return ann;
  return `${resultName}/records/${meta(o).uid ?? ""}`;
}

/** `<apiVersion>.<Kind>`, e.g. tekton.dev/v1.TaskRun. */
export function recordTypeOf(o: KubeObject): string {
  return `${o.apiVersion ?? ""}.${o.kind ?? ""}`;
}

/**
 * The record value: the whole object as JSON, with apiVersion and kind
 * filled in (list items of some servers omit them).
 */
export function recordValueOf(o: KubeObject, apiVersion: string, kind: string): string {
  if (o.apiVersion && o.kind) return JSON.stringify(o);
  return JSON.stringify({ apiVersion: o.apiVersion || apiVersion, kind: o.kind || kind, ...o });
}

// ---- status ----------------------------------------------------------------------------

export function succeededCondition(o: KubeObject): Condition | null {
  return o.status?.conditions?.find((c) => c.type === "Succeeded") ?? null;
}

/** A run is done when its Succeeded condition is True or False. */
export function isDone(o: KubeObject): boolean {
  const s = succeededCondition(o)?.status;
  return s === "True" || s === "False";
}

const REASON_STATUS: Record<string, number> = {
  Succeeded: SummaryStatus.SUCCESS,
  Completed: SummaryStatus.SUCCESS,
  Failed: SummaryStatus.FAILURE,
  TaskRunTimeout: SummaryStatus.TIMEOUT,
  PipelineRunTimeout: SummaryStatus.TIMEOUT,
  CustomRunTimedOut: SummaryStatus.TIMEOUT,
  TaskRunCancelled: SummaryStatus.CANCELLED,
  Cancelled: SummaryStatus.CANCELLED,
  PipelineRunCancelled: SummaryStatus.CANCELLED,
  CustomRunCancelled: SummaryStatus.CANCELLED,
  Running: SummaryStatus.UNKNOWN,
  Started: SummaryStatus.UNKNOWN,
  Pending: SummaryStatus.UNKNOWN,
  PipelineRunPending: SummaryStatus.UNKNOWN,
  PipelineRunStopping: SummaryStatus.UNKNOWN,
  CancelledRunningFinally: SummaryStatus.UNKNOWN,
  StoppedRunningFinally: SummaryStatus.UNKNOWN,
};

/**
 * RecordSummary.Status from the Succeeded condition. Upstream's table for
 * the reasons it names; any other reason follows the condition's status:
 * False is FAILURE (upstream: UNKNOWN for TaskRunImagePullFailed, PodEvicted,
 * PipelineValidationFailed, StepFailed, CouldntGetPipeline, ...), True is
 * SUCCESS, anything else UNKNOWN. No Succeeded condition: UNKNOWN.
 */
export function summaryStatusOf(o: KubeObject): number {
  const c = succeededCondition(o);
  if (!c) return SummaryStatus.UNKNOWN;
  const byReason = c.reason !== undefined ? REASON_STATUS[c.reason] : undefined;
  if (byReason !== undefined) return byReason;
  if (c.status === "False") return SummaryStatus.FAILURE;
  if (c.status === "True") return SummaryStatus.SUCCESS;
  return SummaryStatus.UNKNOWN;
}

/** RFC 3339 -> Unix microseconds; null when absent or unparseable. */
export function micros(t: string | undefined): number | null {
  if (!t) return null;
  const ms = Date.parse(t);
  return Number.isFinite(ms) ? ms * 1000 : null;
}

// ---- the Result ----------------------------------------------------------------------

/** String form of a JSON value, as upstream's fmt.Sprint gives it for scalars; JSON for lists and maps. */
function stringify(v: unknown): string {
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (v === null) return "<nil>";
  return JSON.stringify(v);
}

/** A JSON-object annotation as string entries; null when absent, `Error` when malformed. */
export function jsonAnnotation(o: KubeObject, key: string): Annotations | null | Error {
  const raw = meta(o).annotations?.[key];
  if (raw === undefined) return null;
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch (e) {
    return new Error(`annotation ${key} is not JSON: ${(e as Error).message}`);
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) return new Error(`annotation ${key} is not a JSON object`);
  const out: Annotations = {};
  for (const [k, x] of Object.entries(v)) out[k] = stringify(x);
  return out;
}

export interface DesiredResultInput {
  obj: KubeObject;
  recordName: string;
  opts: MappingOptions;
  /** Collects problems that do not stop storage (malformed annotations). */
  warn?: (msg: string) => void;
}

/**
 * What the Result of this object should hold, given the stored one (null
 * when absent). Annotations merge over the stored ones; top-level objects
 * also set the summary. Objects owned by another (TaskRuns of a PipelineRun)
 * only shape a Result they create: a stored Result is left to its top-level
 * run. Returns null for "no change".
 */
export function desiredResult(cur: ResultResource | null, input: DesiredResultInput): DesiredResult | null {
  const { obj, opts } = input;
  const top = isTopLevel(obj);
  if (cur && !top) return null;
  const m = meta(obj);
  const annotations: Annotations = { ...(cur?.annotations ?? {}) };
  const fromObject = jsonAnnotation(obj, ANNOTATION.resultAnnotations);
  if (fromObject instanceof Error) input.warn?.(fromObject.message);
  else if (fromObject) Object.assign(annotations, fromObject);
  if (top) {
    for (const k of opts.summaryLabels) {
      const v = m.labels?.[k];
      if (v !== undefined) annotations[k] = v;
    }
    for (const k of opts.summaryAnnotations) {
      const v = m.annotations?.[k];
      if (v !== undefined) annotations[k] = v;
    }
    if (m.name !== undefined) annotations[OBJECT_NAME_ANNOTATION] = m.name;
  }
  annotations[ANNOTATION.cluster] = opts.cluster;
  let summary: RecordSummary | null = cur?.summary ?? null;
  if (top) {
    const summaryAnnotations: Annotations = { ...(cur?.summary?.annotations ?? {}) };
    const fromRecord = jsonAnnotation(obj, ANNOTATION.recordSummaryAnnotations);
    if (fromRecord instanceof Error) input.warn?.(fromRecord.message);
    else if (fromRecord) Object.assign(summaryAnnotations, fromRecord);
    summary = {
      record: input.recordName,
      type: recordTypeOf(obj),
      status: summaryStatusOf(obj),
      startTime: micros(obj.status?.startTime),
      endTime: micros(obj.status?.completionTime),
      annotations: summaryAnnotations,
    };
  }
  return { annotations, summary };
}

// ---- derived ids ------------------------------------------------------------------------

/**
 * A name-based (MD5, version 3) UUID, as Go's uuid.NewMD5(space, data):
 * upstream derives the EventList record name this way from the Result's uid
 * and the run's uid + "eventlist".
 */
export function uuidMd5(namespace: string, data: string): string {
  const ns = Buffer.from(namespace.replace(/-/g, ""), "hex");
  const h = createHash("md5").update(ns).update(data).digest();
  h[6] = (h[6]! & 0x0f) | 0x30;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.toString("hex");
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

/**
 * The Log record of a run (spec §8.6): the last segment of its
 * `results.tekton.dev/log` annotation when that is a log name, else the
 * name-based UUID of the Result's uid and the run's uid.
 */
export function logRecordNameOf(o: KubeObject, resultName: string, resultUid: string): string {
  const ann = meta(o).annotations?.[ANNOTATION.log];
  const m = ann ? /^[a-z0-9_-]{1,63}\/results\/[a-z0-9_-]{1,63}\/logs\/([a-z0-9_-]{1,63})$/.exec(ann) : null;
  return `${resultName}/records/${m ? m[1] : uuidMd5(resultUid, meta(o).uid ?? "")}`;
}

/** The log name (`…/logs/<id>`) of a Log record name (`…/records/<id>`). */
export const logNameOf = (logRecordName: string) => logRecordName.replace(/\/records\/([^/]+)$/, "/logs/$1");

/** The EventList record of a run (annotation first, as upstream). */
export function eventListNameOf(o: KubeObject, resultName: string, resultUid: string): string {
  const ann = meta(o).annotations?.[ANNOTATION.eventList];
  if (ann && isTopLevel(o)) return ann;
  return `${resultName}/records/${uuidMd5(resultUid, `${meta(o).uid ?? ""}eventlist`)}`;
}
