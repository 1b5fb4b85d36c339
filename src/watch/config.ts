/**
 * Which clusters to watch and how: from `--kubeconfig`/`--context` flags
 * (each context a cluster with default options) and from a watch config
 * file (YAML or JSON) that lists clusters with their own kubeconfig,
 * context, namespaces, label selector and options. Every problem is
 * reported with the path of the offending setting.
 *
 *     clusters:
 *       - name: prod-eu                 # default: the context name
 *         kubeconfig: /etc/hindsight/prod.kubeconfig   # default: --kubeconfig, else $KUBECONFIG, ~/.kube/config
 *         context: prod-eu              # default: the kubeconfig's current context
 *         namespaces: [ci, team-a]      # default: all namespaces
 *         labelSelector: app.kubernetes.io/managed-by=tekton-pipelines
 *         parent: "{cluster}-{namespace}"   # default: "{namespace}"
 *         writeAnnotations: true        # results.tekton.dev/result and /record on the runs
 *         storeEvents: true             # a results.tekton.dev/v1.EventList record per finished run
 *         finalizers: true              # hold deletion of each run until it is stored
 *         logs: true                    # capture step and sidecar logs while runs execute (default)
 *         cleanup:
 *           gracePeriod: 10m            # delete completed runs this long after completion, once stored
 *     defaults:                          # options applied to every cluster (flags' clusters too)
 *       parent: "{namespace}"
 */
import { readFileSync } from "node:fs";
import { checkParentTemplate, DEFAULT_SUMMARY_LABELS } from "./mapping.ts";
import { DEFAULT_TUNING, type StreamTuning } from "./stream.ts";

export interface CleanupSpec {
  /** ms after completion; 0 = never delete; negative = as soon as stored. */
  gracePeriodMs: number;
  /** Do not delete runs owned by anything (PipelineRun-owned runs are never deleted on their own). */
  checkOwner: boolean;
  /** Retry interval for runs not yet eligible (children not stored, selector not matching). */
  requeueMs: number;
  /** Only runs with these labels are deleted (Kubernetes equality selector syntax); null = all watched runs. */
  labelSelector: string | null;
}

export interface ClusterSpec {
  name: string;
  kubeconfig: string | null;
  context: string | null;
  /** Empty: all namespaces. */
  namespaces: string[];
  labelSelector: string | null;
  /** Parent template with {cluster} and {namespace}. */
  parent: string;
  summaryLabels: string[];
  summaryAnnotations: string[];
  writeAnnotations: boolean;
  storeEvents: boolean;
  finalizers: boolean;
  /** Capture each TaskRun's step and sidecar logs while it runs (spec §8.6, followed live). */
  logs: boolean;
  cleanup: CleanupSpec;
  tuning: StreamTuning;
}

export class WatchConfigError extends Error {}

export const DEFAULT_CLUSTER: Omit<ClusterSpec, "name" | "kubeconfig" | "context"> = {
  namespaces: [],
  labelSelector: null,
  parent: "{namespace}",
  summaryLabels: [...DEFAULT_SUMMARY_LABELS],
  summaryAnnotations: [],
  writeAnnotations: false,
  storeEvents: false,
  finalizers: false,
  logs: true,
  cleanup: { gracePeriodMs: 0, checkOwner: true, requeueMs: 10 * 60_000, labelSelector: null },
  tuning: { ...DEFAULT_TUNING },
};

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "10m", "90s", "1h30m", "500ms", "0", "-1s" -> ms. */
export function parseDuration(raw: unknown, where: string): number {
  if (typeof raw === "number" && Number.isFinite(raw)) return raw * 1000;
  if (typeof raw !== "string") throw new WatchConfigError(`${where}: ${JSON.stringify(raw)} is not a duration (examples: 30s, 10m, 1h)`);
  const s = raw.trim();
  if (s === "0") return 0;
  const m = /^(-?)((?:\d+(?:\.\d+)?(?:ms|s|m|h))+)$/.exec(s);
  if (!m) throw new WatchConfigError(`${where}: ${JSON.stringify(raw)} is not a duration (examples: 30s, 10m, 1h)`);
  let ms = 0;
  for (const part of m[2]!.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) ms += Number(part[1]) * UNITS[part[2]!]!;
  return m[1] ? -ms : ms;
}

type Raw = Record<string, unknown>;

function obj(v: unknown, where: string): Raw {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new WatchConfigError(`${where}: must be a mapping`);
  return v as Raw;
}

function str(v: unknown, where: string): string {
  if (typeof v !== "string" || v.trim() === "") throw new WatchConfigError(`${where}: must be a non-empty string`);
  return v;
}

function bool(v: unknown, where: string): boolean {
  if (typeof v !== "boolean") throw new WatchConfigError(`${where}: must be true or false`);
  return v;
}

function strList(v: unknown, where: string): string[] {
  if (!Array.isArray(v)) throw new WatchConfigError(`${where}: must be a list of strings`);
  return v.map((x, i) => str(x, `${where}[${i}]`));
}

const CLUSTER_KEYS = new Set([
  "name",
  "kubeconfig",
  "context",
  "namespaces",
  "labelSelector",
  "parent",
  "summaryLabels",
  "summaryAnnotations",
  "writeAnnotations",
  "storeEvents",
  "finalizers",
  "logs",
  "cleanup",
  "watch",
]);
const CLEANUP_KEYS = new Set(["gracePeriod", "checkOwner", "requeueInterval", "labelSelector"]);
const WATCH_KEYS = new Set(["pageSize", "window", "idleTimeout", "watchTimeout", "backoffInitial", "backoffMax", "saveInterval"]);
const NS_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Applies the options of a config mapping over `base` (for `defaults` and each cluster). */
function applyOptions(base: Omit<ClusterSpec, "name" | "kubeconfig" | "context">, r: Raw, where: string): Omit<ClusterSpec, "name" | "kubeconfig" | "context"> {
  const out = structuredClone(base);
  for (const k of Object.keys(r)) if (!CLUSTER_KEYS.has(k)) throw new WatchConfigError(`${where}.${k}: unknown setting (known: ${[...CLUSTER_KEYS].join(", ")})`);
  if (r.namespaces !== undefined) {
    out.namespaces = strList(r.namespaces, `${where}.namespaces`);
    out.namespaces.forEach((n, i) => {
      if (!NS_RE.test(n) || n.length > 63) throw new WatchConfigError(`${where}.namespaces[${i}]: ${JSON.stringify(n)} is not a namespace name`);
    });
  }
  if (r.labelSelector !== undefined) out.labelSelector = r.labelSelector === null || r.labelSelector === "" ? null : str(r.labelSelector, `${where}.labelSelector`);
  if (r.parent !== undefined) {
    out.parent = str(r.parent, `${where}.parent`);
    const bad = checkParentTemplate(out.parent);
    if (bad) throw new WatchConfigError(`${where}.parent: ${bad}`);
  }
  if (r.summaryLabels !== undefined) out.summaryLabels = strList(r.summaryLabels, `${where}.summaryLabels`);
  if (r.summaryAnnotations !== undefined) out.summaryAnnotations = strList(r.summaryAnnotations, `${where}.summaryAnnotations`);
  if (r.writeAnnotations !== undefined) out.writeAnnotations = bool(r.writeAnnotations, `${where}.writeAnnotations`);
  if (r.storeEvents !== undefined) out.storeEvents = bool(r.storeEvents, `${where}.storeEvents`);
  if (r.finalizers !== undefined) out.finalizers = bool(r.finalizers, `${where}.finalizers`);
  if (r.logs !== undefined) out.logs = bool(r.logs, `${where}.logs`);
  if (r.cleanup !== undefined) {
    const c = obj(r.cleanup, `${where}.cleanup`);
    for (const k of Object.keys(c)) if (!CLEANUP_KEYS.has(k)) throw new WatchConfigError(`${where}.cleanup.${k}: unknown setting (known: ${[...CLEANUP_KEYS].join(", ")})`);
    if (c.gracePeriod !== undefined) out.cleanup.gracePeriodMs = parseDuration(c.gracePeriod, `${where}.cleanup.gracePeriod`);
    if (c.checkOwner !== undefined) out.cleanup.checkOwner = bool(c.checkOwner, `${where}.cleanup.checkOwner`);
    if (c.requeueInterval !== undefined) out.cleanup.requeueMs = positive(parseDuration(c.requeueInterval, `${where}.cleanup.requeueInterval`), `${where}.cleanup.requeueInterval`);
    if (c.labelSelector !== undefined) out.cleanup.labelSelector = c.labelSelector === null || c.labelSelector === "" ? null : str(c.labelSelector, `${where}.cleanup.labelSelector`);
  }
  if (r.watch !== undefined) {
    const w = obj(r.watch, `${where}.watch`);
    for (const k of Object.keys(w)) if (!WATCH_KEYS.has(k)) throw new WatchConfigError(`${where}.watch.${k}: unknown setting (known: ${[...WATCH_KEYS].join(", ")})`);
    const int = (v: unknown, at: string, lo: number, hi: number) => {
      if (typeof v !== "number" || !Number.isInteger(v) || v < lo || v > hi) throw new WatchConfigError(`${at}: must be an integer from ${lo} to ${hi}`);
      return v;
    };
    if (w.pageSize !== undefined) out.tuning.pageSize = int(w.pageSize, `${where}.watch.pageSize`, 1, 10_000);
    if (w.window !== undefined) out.tuning.window = int(w.window, `${where}.watch.window`, 1, 100_000);
    if (w.idleTimeout !== undefined) out.tuning.idleTimeoutMs = positive(parseDuration(w.idleTimeout, `${where}.watch.idleTimeout`), `${where}.watch.idleTimeout`);
    if (w.watchTimeout !== undefined) out.tuning.watchTimeoutSeconds = Math.max(1, Math.round(positive(parseDuration(w.watchTimeout, `${where}.watch.watchTimeout`), `${where}.watch.watchTimeout`) / 1000));
    if (w.backoffInitial !== undefined) out.tuning.backoffInitialMs = positive(parseDuration(w.backoffInitial, `${where}.watch.backoffInitial`), `${where}.watch.backoffInitial`);
    if (w.backoffMax !== undefined) out.tuning.backoffMaxMs = positive(parseDuration(w.backoffMax, `${where}.watch.backoffMax`), `${where}.watch.backoffMax`);
    if (w.saveInterval !== undefined) out.tuning.saveIntervalMs = positive(parseDuration(w.saveInterval, `${where}.watch.saveInterval`), `${where}.watch.saveInterval`);
  }
  return out;
}

function positive(ms: number, where: string): number {
  if (ms <= 0) throw new WatchConfigError(`${where}: must be more than 0`);
  return ms;
}

export interface WatchSources {
  /** --kubeconfig: the kubeconfig for flag contexts and the default for file clusters. */
  kubeconfig: string | null;
  /** --context (repeatable). Empty with a kubeconfig: its current context. */
  contexts: string[];
  /** Parsed watch config file (already read), and its path for messages. */
  file: { path: string; doc: unknown } | null;
}

/** Reads a watch config file (YAML or JSON). */
export function readWatchFile(path: string): { path: string; doc: unknown } {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new WatchConfigError(`watch config ${path}: cannot read: ${(e as Error).message}`);
  }
  try {
    return { path, doc: Bun.YAML.parse(text) };
  } catch (e) {
    throw new WatchConfigError(`watch config ${path}: not valid YAML: ${(e as Error).message}`);
  }
}

/**
 * The clusters to watch. Flags give one cluster per --context (or the
 * kubeconfig's current context when --kubeconfig is given without
 * --context), named after the context; the file adds its clusters. Two
 * clusters with one name are refused: the name keys the resume points and
 * labels every Result.
 */
export function resolveClusters(src: WatchSources): ClusterSpec[] {
  const out: ClusterSpec[] = [];
  let defaults = structuredClone(DEFAULT_CLUSTER);
  let fileClusters: unknown[] = [];
  let fileWhere = "";
  if (src.file) {
    fileWhere = `watch config ${src.file.path}`;
    const doc = src.file.doc === null || src.file.doc === undefined ? {} : obj(src.file.doc, fileWhere);
    for (const k of Object.keys(doc)) if (k !== "clusters" && k !== "defaults") throw new WatchConfigError(`${fileWhere}: unknown setting ${k} (known: clusters, defaults)`);
    if (doc.defaults !== undefined) {
      const d = obj(doc.defaults, `${fileWhere}: defaults`);
      for (const k of ["name", "kubeconfig", "context"]) if (k in d) throw new WatchConfigError(`${fileWhere}: defaults.${k}: belongs to a cluster, not to defaults`);
      defaults = applyOptions(defaults, d, `${fileWhere}: defaults`);
    }
    if (doc.clusters !== undefined) {
      if (!Array.isArray(doc.clusters)) throw new WatchConfigError(`${fileWhere}: clusters: must be a list`);
      fileClusters = doc.clusters;
    }
  }
  const needsCurrent = src.contexts.length === 0 && src.kubeconfig !== null;
  for (const ctx of needsCurrent ? [null] : src.contexts) {
    out.push({ name: ctx ?? "", kubeconfig: src.kubeconfig, context: ctx, ...structuredClone(defaults) });
  }
  fileClusters.forEach((c, i) => {
    const where = `${fileWhere}: clusters[${i}]`;
    const r = obj(c, where);
    const kubeconfig = r.kubeconfig !== undefined ? str(r.kubeconfig, `${where}.kubeconfig`) : src.kubeconfig;
    const context = r.context !== undefined ? str(r.context, `${where}.context`) : null;
    const name = r.name !== undefined ? str(r.name, `${where}.name`) : (context ?? "");
    out.push({ name, kubeconfig, context, ...applyOptions(defaults, r, where) });
  });
  return out;
}

/** Checks names are unique once every cluster has one (the current context's name fills blanks). */
export function checkClusterNames(clusters: ClusterSpec[]): void {
  const seen = new Set<string>();
  for (const c of clusters) {
    if (!c.name) throw new WatchConfigError(`a cluster has no name and its kubeconfig no current context`);
    if (seen.has(c.name)) throw new WatchConfigError(`cluster "${c.name}" is listed twice (names key the resume points and the hindsight.dev/cluster annotation; give one a name:)`);
    seen.add(c.name);
  }
}
