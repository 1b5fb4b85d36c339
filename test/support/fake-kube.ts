/**
 * A fake Kubernetes API server for the watcher's tests and benchmark: real
 * HTTP or HTTPS (client-certificate and bearer-token auth), the Tekton
 * resources (TaskRuns and PipelineRuns in tekton.dev/v1 and/or v1beta1,
 * CustomRuns in v1beta1), core/v1 Events and Pod logs, and the protocol a
 * watcher meets on a real apiserver:
 *
 *   * list with `limit`/`continue` (continue tokens expire with history);
 *   * watch from a resourceVersion as NDJSON, BOOKMARK events, `timeoutSeconds`;
 *   * 410 Gone for a resourceVersion older than the kept history, as an HTTP
 *     410 or as an ERROR event on a 200 stream (the apiserver does both);
 *   * merge patch (with metadata.resourceVersion as a precondition), delete with
 *     uid/resourceVersion preconditions, finalizers (deletionTimestamp, then gone
 *     when the last finalizer is removed) and cascading deletion of owned objects;
 *   * label selectors (=, ==, !=, exists, !exists, in, notin) and the Event field
 *     selectors (involvedObject.uid / .name / .kind).
 *
 * Auth mode kubernetes: TokenReview (authentication.k8s.io/v1) answers from
 * `users` (token -> user info), SubjectAccessReview (authorization.k8s.io/v1)
 * from the `access` rule; each review received is counted and kept
 * (`tokenReviews`, `accessReviews`) so tests can check attributes and caching.
 *
 * Fault hooks: drop every connection, stall (streams go silent and requests
 * hang), fail the next N requests with a status, expire history (410s), and
 * stop for good.
 *
 * It also records what a watcher provably received: `delivered` maps a
 * run's uid to the last "done" state (Succeeded True/False) that reached a
 * client, in a list page or a watch event. Bytes written to a socket can be
 * lost with it, so a state counts only once the client acknowledges it the
 * way the protocol lets it: a watch resumed from resourceVersion r
 * acknowledges the events of the previous watch session up to r (a client
 * only resumes from a version it received), a list page is acknowledged by
 * the request for the next page, and the last page by a watch from the
 * list's resourceVersion. That is the ground truth of "the watcher saw this
 * run complete" for the tests.
 *
 * Objects are kept as JSON text plus a few parsed fields, so 100k runs of
 * ~11 KB cost about a gigabyte and no more (the benchmark runs it in a
 * separate process).
 */
import http from "node:http";
import https from "node:https";
import type { Socket } from "node:net";
import { randomUUID } from "node:crypto";
import { FakePodLogs } from "./fake-pod-logs.ts";

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json | undefined };
export type Obj = { [k: string]: Json | undefined };

export interface FakeKubeOptions {
  /** Serve HTTPS with this certificate; with `clientCa`, client certificates signed by it authenticate. */
  tls?: { cert: string; key: string; clientCa?: string };
  /** Bearer tokens accepted. With neither tokens nor clientCa, every request is accepted. */
  tokens?: string[];
  /** Versions of tekton.dev served for TaskRuns and PipelineRuns. Default both (v1 preferred). */
  tektonVersions?: Array<"v1" | "v1beta1">;
  /** Serve CustomRuns (tekton.dev/v1beta1). Default true. */
  customRuns?: boolean;
  /** Watch events kept for resuming; older resourceVersions get 410. Default 1,000,000. */
  historyLimit?: number;
  /** BOOKMARK interval on watch streams, ms; 0 = none. Default 1000. */
  bookmarkIntervalMs?: number;
  /** How a too-old watch resourceVersion is answered: an HTTP 410, or a 200 with one ERROR event (default). */
  expiredWatchAs?: "http" | "event";
  host?: string;
  port?: number;
}

interface Entry {
  text: string;
  uid: string;
  ns: string;
  name: string;
  rv: number;
  labels: Record<string, string>;
  ownerUids: string[];
  finalizers: string[];
  deleting: boolean;
  done: string | null;
}

interface HistoryEvent {
  rv: number;
  resource: string;
  type: "ADDED" | "MODIFIED" | "DELETED";
  entry: Entry;
}

interface Session {
  start: number;
  entries: Array<{ rv: number; uid: string; done: string }>;
}

interface Watch {
  session: Session;
  res: http.ServerResponse;
  resource: string;
  version: string;
  ns: string | null;
  selector: Selector | null;
  /** Lines waiting to be written (while stalled), with the entry each delivers. */
  queue: Array<{ line: string; entry: Entry | null }>;
  closed: boolean;
  timers: Array<ReturnType<typeof setInterval> | ReturnType<typeof setTimeout>>;
}

/** Resource plurals by kind, and what group/versions serve them. */
const KINDS: Record<string, { kind: string; group: string; core?: boolean }> = {
  taskruns: { kind: "TaskRun", group: "tekton.dev" },
  pipelineruns: { kind: "PipelineRun", group: "tekton.dev" },
  customruns: { kind: "CustomRun", group: "tekton.dev" },
  events: { kind: "Event", group: "", core: true },
};

// ---- label selectors -------------------------------------------------------------------

type Requirement = { key: string; op: "=" | "!=" | "exists" | "!exists" | "in" | "notin"; values: string[] };
type Selector = Requirement[];

export function parseSelector(s: string): Selector {
  const out: Selector = [];
  // Split on commas outside parentheses.
  const parts: string[] = [];
  let depth = 0;
  let cur = "";
  for (const ch of s) {
    if (ch === "(") depth++;
    if (ch === ")") depth--;
    if (ch === "," && depth === 0) {
      parts.push(cur);
      cur = "";
    } else cur += ch;
  }
  if (cur.trim()) parts.push(cur);
  for (const raw of parts) {
    const p = raw.trim();
    let m: RegExpExecArray | null;
    if ((m = /^([^\s!=]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(p))) {
      out.push({ key: m[1]!, op: m[2] as "in" | "notin", values: m[3]!.split(",").map((v) => v.trim()) });
    } else if ((m = /^([^\s!=]+)\s*(==|=|!=)\s*(.*)$/.exec(p))) {
      out.push({ key: m[1]!, op: m[2] === "!=" ? "!=" : "=", values: [m[3]!.trim()] });
    } else if ((m = /^!\s*(\S+)$/.exec(p))) {
      out.push({ key: m[1]!, op: "!exists", values: [] });
    } else if (/^\S+$/.test(p)) {
      out.push({ key: p, op: "exists", values: [] });
    } else {
      throw new Error(`unable to parse requirement: ${p}`);
    }
  }
  return out;
}

function matches(sel: Selector | null, labels: Record<string, string>): boolean {
  if (!sel) return true;
  return sel.every((r) => {
    const v = labels[r.key];
    switch (r.op) {
      case "=":
        return v === r.values[0];
      case "!=":
        return v !== r.values[0];
      case "exists":
        return v !== undefined;
      case "!exists":
        return v === undefined;
      case "in":
        return v !== undefined && r.values.includes(v);
      case "notin":
        return v === undefined || !r.values.includes(v);
    }
  });
}

// ---- merge patch (RFC 7386) -----------------------------------------------------------------

export function mergePatch(target: Json | undefined, patch: Json): Json {
  if (typeof patch !== "object" || patch === null || Array.isArray(patch)) return patch;
  const out: Obj = typeof target === "object" && target !== null && !Array.isArray(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v as Json);
  }
  return out;
}

// ---- the server -----------------------------------------------------------------------------

function doneOf(o: Obj): string | null {
  const conds = ((o.status as Obj | undefined)?.conditions as Obj[] | undefined) ?? [];
  const c = conds.find((x) => x.type === "Succeeded");
  return c && (c.status === "True" || c.status === "False") ? `${c.status}:${String(c.reason ?? "")}` : null;
}

function status(code: number, reason: string, message: string): Obj {
  return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, code };
}

/** A user as TokenReview answers it. */
export interface ReviewUser {
  username: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

/** A SubjectAccessReview's spec, as received. */
export interface AccessReviewSpec {
  user: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
  resourceAttributes: { namespace?: string; verb?: string; group?: string; resource?: string; subresource?: string; name?: string };
}

const nowIso = () => new Date(Math.floor(Date.now() / 1000) * 1000).toISOString().replace(".000Z", "Z");

export class FakeKube {
  readonly opts: Required<Omit<FakeKubeOptions, "tls" | "tokens" | "host" | "port">> & FakeKubeOptions;
  private server: http.Server | https.Server | null = null;
  private readonly sockets = new Set<Socket>();
  private readonly store = new Map<string, Map<string, Entry>>();
  private readonly sorted = new Map<string, string[] | null>();
  private history: HistoryEvent[] = [];
  private historyStart = 0;
  private rv = 1000;
  /** Events before or at this resourceVersion are gone (410). */
  private compactedRv = 1000;
  private readonly watches = new Set<Watch>();
  private stalled: Promise<void> | null = null;
  private unstall: (() => void) | null = null;
  private failures: Array<{ status: number; match?: RegExp }> = [];
  private holds: Array<{ match: RegExp; released: Promise<void>; release: () => void }> = [];
  /** Requests waiting on a `hold` now. */
  held = 0;
  /** Held requests whose client went away (cancelled, or its connection closed) before the release. */
  heldCancelled = 0;
  private stopped = false;
  /** Pods and their container logs (follow, timestamps, sinceTime; see fake-pod-logs.ts). */
  readonly pods = new FakePodLogs();
  port = 0;
  /** uid -> "True:Succeeded" etc.: the done state a client acknowledged receiving (list or watch). */
  readonly delivered = new Map<string, string>();
  /** Per resource, the latest watch session: where it started and the done states written on it. */
  private readonly sessions = new Map<string, Session>();
  /** Per resource and list resourceVersion, the done states written in its pages. */
  private readonly listPages = new Map<string, Map<number, Array<{ uid: string; done: string }>>>();
  /** Requests by kind, e.g. "list taskruns", "watch pipelineruns", "patch taskruns", "delete pipelineruns". */
  readonly requests = new Map<string, number>();
  /** Each list request's `limit` (to check pagination). */
  readonly listLimits: number[] = [];
  /** Uids of runs deleted while our finalizer was on them (a watcher held them until stored). */
  readonly heldByFinalizer = new Set<string>();
  /** TokenReview: tokens the API server authenticates, and as whom. */
  readonly users = new Map<string, ReviewUser>();
  /** SubjectAccessReview: whether a review is allowed (default: nothing is). */
  access: (spec: AccessReviewSpec) => boolean = () => false;
  /** TokenReviews received (the count; tokens are not kept). */
  tokenReviews = 0;
  /** SubjectAccessReview specs received, in order. */
  readonly accessReviews: AccessReviewSpec[] = [];

  constructor(opts: FakeKubeOptions = {}) {
    this.opts = {
      tektonVersions: ["v1", "v1beta1"],
      customRuns: true,
      historyLimit: 1_000_000,
      bookmarkIntervalMs: 1000,
      expiredWatchAs: "event",
      ...opts,
    };
    for (const r of Object.keys(KINDS)) this.store.set(r, new Map());
  }

  get url(): string {
    return `${this.opts.tls ? "https" : "http"}://127.0.0.1:${this.port}`;
  }

  get resourceVersion(): number {
    return this.rv;
  }

  /** Resuming from a resourceVersion below this gets 410 Gone. */
  get compactedAt(): number {
    return this.compactedRv;
  }

  async start(): Promise<this> {
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
      this.handle(req, res).catch((e) => {
        if (!res.headersSent) this.sendJson(res, 500, status(500, "InternalError", String(e)));
        else res.destroy();
      });
    };
    const t = this.opts.tls;
    this.server = t
      ? https.createServer({ cert: t.cert, key: t.key, ca: t.clientCa, requestCert: !!t.clientCa, rejectUnauthorized: false }, handler)
      : http.createServer(handler);
    const track = (s: Socket) => {
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
    };
    this.server.on(t ? "secureConnection" : "connection", track);
    await new Promise<void>((resolve, reject) => {
      this.server!.once("error", reject);
      this.server!.listen(this.opts.port ?? 0, this.opts.host ?? "127.0.0.1", () => resolve());
    });
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }

  /** Stops for good: closes the listener and every connection. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.unstall?.();
    for (const h of [...this.holds]) h.release();
    for (const w of this.watches) this.closeWatch(w);
    this.pods.closeAll();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  // ---- fault hooks -------------------------------------------------------------------------

  /** Destroys every open connection (watch streams included), as a network blip does. */
  dropConnections(): void {
    for (const s of this.sockets) s.destroy();
  }

  /** While stalled, watch streams send nothing and new requests hang; `stall(false)` releases them. */
  stall(on: boolean): void {
    if (on && !this.stalled) {
      this.stalled = new Promise((r) => (this.unstall = r));
    } else if (!on && this.stalled) {
      this.stalled = null;
      this.unstall?.();
      this.unstall = null;
      for (const w of this.watches) this.flush(w);
    }
  }

  /**
   * New requests matching `match` on "METHOD path?query" hang (nothing sent,
   * not even headers) until the returned function releases them; everything
   * else flows. A list page or discovery call that never answers.
   */
  hold(match: RegExp): () => void {
    let resolve!: () => void;
    const released = new Promise<void>((r) => (resolve = r));
    const h = {
      match,
      released,
      release: () => {
        this.holds = this.holds.filter((x) => x !== h);
        resolve();
      },
    };
    this.holds.push(h);
    return h.release;
  }

  /** The next `n` requests (matching `match` on "METHOD path" if given) fail with `status`. */
  failNext(n: number, statusCode = 500, match?: RegExp): void {
    for (let i = 0; i < n; i++) this.failures.push({ status: statusCode, match });
  }

  /**
   * Compacts history: every resourceVersion up to now is gone, so resuming
   * from any of them gets 410 Gone. With `notifyWatches`, open watches are
   * sent an ERROR 410 and closed (the apiserver does this when a watcher
   * falls too far behind).
   */
  expire(opts: { notifyWatches?: boolean } = {}): void {
    this.compactedRv = this.rv;
    this.history = [];
    this.historyStart = 0;
    if (opts.notifyWatches) {
      for (const w of [...this.watches]) {
        this.writeLine(w, JSON.stringify({ type: "ERROR", object: status(410, "Expired", "too old resource version") }));
        this.closeWatch(w, true);
      }
    }
  }

  // ---- the objects ----------------------------------------------------------------------------

  private key(ns: string, name: string): string {
    return `${ns}/${name}`;
  }

  private entryOf(obj: Obj): Entry {
    const m = obj.metadata as Obj;
    return {
      text: JSON.stringify(obj),
      uid: m.uid as string,
      ns: (m.namespace as string) ?? "",
      name: m.name as string,
      rv: Number(m.resourceVersion),
      labels: (m.labels as Record<string, string>) ?? {},
      ownerUids: ((m.ownerReferences as Obj[]) ?? []).map((r) => r.uid as string),
      finalizers: (m.finalizers as string[]) ?? [],
      deleting: !!m.deletionTimestamp,
      done: doneOf(obj),
    };
  }

  private record(resource: string, type: HistoryEvent["type"], entry: Entry): void {
    this.history.push({ rv: entry.rv, resource, type, entry });
    if (this.history.length - this.historyStart > this.opts.historyLimit) {
      this.compactedRv = this.history[this.historyStart]!.rv;
      this.historyStart++;
      if (this.historyStart > 4096 && this.historyStart * 2 > this.history.length) {
        this.history = this.history.slice(this.historyStart);
        this.historyStart = 0;
      }
    }
    for (const w of this.watches) {
      if (w.resource !== resource) continue;
      if (w.ns && w.ns !== entry.ns) continue;
      if (!matches(w.selector, entry.labels)) continue;
      this.send(w, type, entry);
    }
  }

  /** Creates an object; fills uid, resourceVersion, creationTimestamp. Returns the stored object. */
  create(resource: string, obj: Obj): Obj {
    const o = structuredClone(obj);
    const m = (o.metadata ??= {}) as Obj;
    m.uid ??= randomUUID();
    m.creationTimestamp ??= nowIso();
    delete m.deletionTimestamp;
    const map = this.store.get(resource)!;
    const k = this.key(m.namespace as string, m.name as string);
    if (map.has(k)) throw new Error(`${resource} ${k} already exists`);
    m.resourceVersion = String(++this.rv);
    const e = this.entryOf(o);
    map.set(k, e);
    this.sorted.set(resource, null);
    this.record(resource, "ADDED", e);
    return o;
  }

  /**
   * Loads many objects without history (as if they existed before anyone
   * watched): the benchmark's 100k runs. `texts` are compact JSON objects;
   * each gets the next resourceVersion by text substitution of
   * `"resourceVersion":"0"`.
   */
  bulkLoad(resource: string, items: Iterable<{ text: string; uid: string; ns: string; name: string; done: string | null }>): number {
    const map = this.store.get(resource)!;
    let n = 0;
    for (const it of items) {
      const rv = ++this.rv;
      map.set(this.key(it.ns, it.name), {
        text: it.text.replace('"resourceVersion":"0"', `"resourceVersion":"${rv}"`),
        uid: it.uid,
        ns: it.ns,
        name: it.name,
        rv,
        labels: {},
        ownerUids: [],
        finalizers: [],
        deleting: false,
        done: it.done,
      });
      n++;
    }
    this.sorted.set(resource, null);
    this.compactedRv = this.rv;
    return n;
  }

  get(resource: string, ns: string, name: string): Obj | null {
    const e = this.store.get(resource)!.get(this.key(ns, name));
    return e ? (JSON.parse(e.text) as Obj) : null;
  }

  list(resource: string): Obj[] {
    return [...this.store.get(resource)!.values()].map((e) => JSON.parse(e.text) as Obj);
  }

  count(resource: string): number {
    return this.store.get(resource)!.size;
  }

  /** Replaces an object's content (spec/status/metadata), keeping uid; as the Tekton controller updating a run. */
  update(resource: string, obj: Obj): Obj {
    const m = obj.metadata as Obj;
    return this.modify(resource, m.namespace as string, m.name as string, (cur) => {
      const next = structuredClone(obj);
      const nm = next.metadata as Obj;
      const cm = cur.metadata as Obj;
      nm.uid = cm.uid;
      nm.creationTimestamp = cm.creationTimestamp;
      // The controller never drops finalizers or annotations others added.
      if (cm.finalizers) nm.finalizers = [...new Set([...((nm.finalizers as string[]) ?? []), ...(cm.finalizers as string[])])];
      if (cm.annotations) nm.annotations = { ...(cm.annotations as Obj), ...((nm.annotations as Obj) ?? {}) };
      if (cm.deletionTimestamp) nm.deletionTimestamp = cm.deletionTimestamp;
      return next;
    });
  }

  /** Applies `fn` to the stored object and stores its result as a new version. */
  modify(resource: string, ns: string, name: string, fn: (o: Obj) => Obj): Obj {
    const map = this.store.get(resource)!;
    const k = this.key(ns, name);
    const e = map.get(k);
    if (!e) throw new Error(`${resource} ${k} not found`);
    const next = fn(JSON.parse(e.text) as Obj);
    const m = next.metadata as Obj;
    m.resourceVersion = String(++this.rv);
    // The last finalizer removed from an object being deleted: it goes.
    if (m.deletionTimestamp && ((m.finalizers as string[] | undefined) ?? []).length === 0) {
      const gone = this.entryOf(next);
      map.delete(k);
      this.sorted.set(resource, null);
      this.record(resource, "DELETED", gone);
      this.cascade(ns, gone.uid);
      return next;
    }
    const ne = this.entryOf(next);
    map.set(k, ne);
    this.record(resource, "MODIFIED", ne);
    return next;
  }

  /**
   * Deletes an object as the apiserver does: with finalizers it only gets a
   * deletionTimestamp; without, it is gone and its owned objects follow.
   * Returns false when absent.
   */
  remove(resource: string, ns: string, name: string, pre: { uid?: string; resourceVersion?: string } = {}): "gone" | "deleting" | "absent" | "conflict" {
    const map = this.store.get(resource)!;
    const k = this.key(ns, name);
    const e = map.get(k);
    if (!e) return "absent";
    if ((pre.uid && pre.uid !== e.uid) || (pre.resourceVersion && pre.resourceVersion !== String(e.rv))) return "conflict";
    if (e.finalizers.length > 0) {
      if (e.finalizers.some((f) => f.startsWith("results.tekton.dev/"))) this.heldByFinalizer.add(e.uid);
      if (!e.deleting) {
        this.modify(resource, ns, name, (o) => {
          (o.metadata as Obj).deletionTimestamp = nowIso();
          return o;
        });
      }
      return "deleting";
    }
    map.delete(k);
    this.sorted.set(resource, null);
    const gone = { ...e, rv: ++this.rv };
    gone.text = e.text.replace(`"resourceVersion":"${e.rv}"`, `"resourceVersion":"${gone.rv}"`);
    this.record(resource, "DELETED", gone);
    this.cascade(ns, e.uid);
    return "gone";
  }

  private cascade(ns: string, ownerUid: string): void {
    for (const r of ["taskruns", "pipelineruns", "customruns"]) {
      for (const e of [...this.store.get(r)!.values()]) {
        if (e.ns === ns && e.ownerUids.includes(ownerUid)) this.remove(r, e.ns, e.name);
      }
    }
  }

  /** A core/v1 Event about an object. */
  addEvent(ev: { namespace: string; involved: { kind: string; name: string; uid?: string }; reason: string; message: string; type?: string }): Obj {
    return this.create("events", {
      apiVersion: "v1",
      kind: "Event",
      metadata: { name: `${ev.involved.name}.${Math.random().toString(16).slice(2, 10)}`, namespace: ev.namespace, managedFields: [{ manager: "x" }] },
      involvedObject: { kind: ev.involved.kind, name: ev.involved.name, namespace: ev.namespace, ...(ev.involved.uid ? { uid: ev.involved.uid } : {}) },
      reason: ev.reason,
      message: ev.message,
      type: ev.type ?? "Normal",
      count: 1,
      firstTimestamp: nowIso(),
      lastTimestamp: nowIso(),
      source: { component: ev.involved.kind === "Pod" ? "kubelet" : ev.involved.kind },
    });
  }

  /** A pod with one terminated container that wrote `text`. */
  setPodLog(ns: string, pod: string, container: string, text: string): void {
    this.pods.addPod(ns, pod, [container]);
    this.pods.append(ns, pod, container, text);
    this.pods.setState(ns, pod, container, "terminated");
  }

  // ---- HTTP -----------------------------------------------------------------------------------

  private count1(k: string): void {
    this.requests.set(k, (this.requests.get(k) ?? 0) + 1);
  }

  private sendJson(res: http.ServerResponse, code: number, body: unknown): void {
    const text = typeof body === "string" ? body : JSON.stringify(body);
    res.writeHead(code, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
    res.end(text);
  }

  private authorized(req: http.IncomingMessage): boolean {
    const tokens = this.opts.tokens ?? [];
    const certAuth = !!this.opts.tls?.clientCa;
    if (tokens.length === 0 && !certAuth) return true;
    const auth = req.headers.authorization ?? "";
    if (tokens.some((t) => auth === `Bearer ${t}`)) return true;
    return certAuth && (req.socket as { authorized?: boolean }).authorized === true;
  }

  private async readBody(req: http.IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString("utf8");
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (this.stopped) return void res.destroy();
    if (this.stalled) await this.stalled;
    if (this.stopped) return void res.destroy();
    const url = new URL(req.url ?? "/", "http://x");
    const method = req.method ?? "GET";
    const hold = this.holds.find((h) => h.match.test(`${method} ${url.pathname}${url.search}`));
    if (hold) {
      this.held++;
      const gone = () => this.heldCancelled++;
      res.once("close", gone);
      await hold.released;
      res.off("close", gone);
      this.held--;
      if (this.stopped) return void res.destroy();
    }
    const fi = this.failures.findIndex((f) => !f.match || f.match.test(`${method} ${url.pathname}`));
    if (fi >= 0) {
      const f = this.failures.splice(fi, 1)[0]!;
      return this.sendJson(res, f.status, status(f.status, "InternalError", "injected failure"));
    }
    if (!this.authorized(req)) return this.sendJson(res, 401, status(401, "Unauthorized", "Unauthorized"));
    const p = url.pathname.split("/").filter(Boolean);

    // Discovery.
    if (method === "GET" && url.pathname === "/version") return this.sendJson(res, 200, { major: "1", minor: "31", gitVersion: "v1.31.0-fake" });
    if (method === "GET" && url.pathname === "/apis") return this.sendJson(res, 200, { kind: "APIGroupList", apiVersion: "v1", groups: [this.tektonGroup()] });
    if (method === "GET" && url.pathname === "/apis/tekton.dev") return this.sendJson(res, 200, { kind: "APIGroup", apiVersion: "v1", ...this.tektonGroup() });
    if (method === "GET" && p[0] === "apis" && p[1] === "tekton.dev" && p.length === 3) {
      const v = p[2]!;
      const resources = this.served(v).map((r) => ({ name: r, namespaced: true, kind: KINDS[r]!.kind, verbs: ["get", "list", "watch", "patch", "delete"] }));
      if (resources.length === 0) return this.sendJson(res, 404, status(404, "NotFound", "the server could not find the requested resource"));
      return this.sendJson(res, 200, { kind: "APIResourceList", apiVersion: "v1", groupVersion: `tekton.dev/${v}`, resources });
    }

    // Reviews (auth mode kubernetes).
    if (method === "POST" && url.pathname === "/apis/authentication.k8s.io/v1/tokenreviews") return this.tokenReview(req, res);
    if (method === "POST" && url.pathname === "/apis/authorization.k8s.io/v1/subjectaccessreviews") return this.accessReview(req, res);

    // Pod logs.
    if (method === "GET" && p[0] === "api" && p[2] === "namespaces" && p[4] === "pods" && p[6] === "log") {
      this.count1("log pods");
      return this.pods.serve(p[3]!, p[5]!, url, res, (code, reason, message) => this.sendJson(res, code, status(code, reason, message)));
    }

    // Resources: /apis/tekton.dev/<v>[/namespaces/<ns>]/<plural>[/<name>] or /api/v1[/namespaces/<ns>]/events
    let version: string;
    let rest: string[];
    if (p[0] === "apis" && p[1] === "tekton.dev" && p[2]) {
      version = p[2];
      rest = p.slice(3);
    } else if (p[0] === "api" && p[1] === "v1") {
      version = "v1";
      rest = p.slice(2);
    } else return this.sendJson(res, 404, status(404, "NotFound", "the server could not find the requested resource"));
    let ns: string | null = null;
    if (rest[0] === "namespaces" && rest.length >= 3) {
      ns = rest[1]!;
      rest = rest.slice(2);
    }
    const resource = rest[0] ?? "";
    const name = rest[1] ?? null;
    const known = KINDS[resource];
    if (!known || (known.core ? p[0] !== "api" : !this.served(version).includes(resource)) || rest.length > 2) {
      return this.sendJson(res, 404, status(404, "NotFound", "the server could not find the requested resource"));
    }

    if (name === null && method === "GET") {
      if (url.searchParams.get("watch") === "true" || url.searchParams.get("watch") === "1") {
        this.count1(`watch ${resource}`);
        return this.watch(req, res, resource, version, ns, url.searchParams);
      }
      this.count1(`list ${resource}`);
      return this.listResponse(res, resource, version, ns, url.searchParams);
    }
    if (name === null || ns === null) return this.sendJson(res, 405, status(405, "MethodNotAllowed", "method not allowed"));
    if (method === "GET") {
      this.count1(`get ${resource}`);
      const e = this.store.get(resource)!.get(this.key(ns, name));
      if (!e) return this.sendJson(res, 404, status(404, "NotFound", `${resource}.tekton.dev "${name}" not found`));
      return this.sendJson(res, 200, this.asVersion(e.text, resource, version));
    }
    if (method === "PATCH") {
      this.count1(`patch ${resource}`);
      const ct = req.headers["content-type"] ?? "";
      const body = await this.readBody(req);
      if (!ct.startsWith("application/merge-patch+json")) {
        return this.sendJson(res, 415, status(415, "UnsupportedMediaType", `the body of the request was in an unknown format - accepted media types include: application/merge-patch+json (got ${ct})`));
      }
      const e = this.store.get(resource)!.get(this.key(ns, name));
      if (!e) return this.sendJson(res, 404, status(404, "NotFound", `${resource}.tekton.dev "${name}" not found`));
      let patch: Json;
      try {
        patch = JSON.parse(body) as Json;
      } catch {
        return this.sendJson(res, 400, status(400, "BadRequest", "invalid JSON"));
      }
      const wantRv = ((patch as Obj).metadata as Obj | undefined)?.resourceVersion;
      if (wantRv !== undefined && wantRv !== String(e.rv)) {
        return this.sendJson(res, 409, status(409, "Conflict", `Operation cannot be fulfilled on ${resource}.tekton.dev "${name}": the object has been modified; please apply your changes to the latest version and try again`));
      }
      const next = this.modify(resource, ns, name, (o) => {
        const merged = mergePatch(o, patch) as Obj;
        (merged.metadata as Obj).uid = (o.metadata as Obj).uid;
        return merged;
      });
      return this.sendJson(res, 200, next);
    }
    if (method === "DELETE") {
      this.count1(`delete ${resource}`);
      const body = await this.readBody(req);
      let pre: { uid?: string; resourceVersion?: string } = {};
      if (body.trim()) {
        try {
          pre = ((JSON.parse(body) as Obj).preconditions as typeof pre) ?? {};
        } catch {
          return this.sendJson(res, 400, status(400, "BadRequest", "invalid JSON"));
        }
      }
      const before = this.store.get(resource)!.get(this.key(ns, name));
      const r = this.remove(resource, ns, name, pre);
      if (r === "absent") return this.sendJson(res, 404, status(404, "NotFound", `${resource}.tekton.dev "${name}" not found`));
      if (r === "conflict") {
        return this.sendJson(res, 409, status(409, "Conflict", `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${before?.uid}`));
      }
      return this.sendJson(res, 200, { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", details: { name, kind: resource, uid: before?.uid } });
    }
    return this.sendJson(res, 405, status(405, "MethodNotAllowed", "method not allowed"));
  }

  private async tokenReview(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    this.count1("create tokenreviews");
    this.tokenReviews++;
    let body: { apiVersion?: string; kind?: string; spec?: { token?: string } };
    try {
      body = JSON.parse(await this.readBody(req));
    } catch {
      return this.sendJson(res, 400, status(400, "BadRequest", "invalid JSON"));
    }
    if (body.apiVersion !== "authentication.k8s.io/v1" || body.kind !== "TokenReview" || typeof body.spec?.token !== "string") {
      return this.sendJson(res, 400, status(400, "BadRequest", "not a TokenReview"));
    }
    const user = this.users.get(body.spec.token);
    const st: Obj = user ? { authenticated: true, user: user as unknown as Obj, audiences: [] } : { authenticated: false, error: "invalid bearer token" };
    return this.sendJson(res, 201, { apiVersion: "authentication.k8s.io/v1", kind: "TokenReview", metadata: { creationTimestamp: null }, spec: {}, status: st });
  }

  private async accessReview(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    this.count1("create subjectaccessreviews");
    let body: { apiVersion?: string; kind?: string; spec?: AccessReviewSpec };
    try {
      body = JSON.parse(await this.readBody(req));
    } catch {
      return this.sendJson(res, 400, status(400, "BadRequest", "invalid JSON"));
    }
    const spec = body.spec;
    if (body.apiVersion !== "authorization.k8s.io/v1" || body.kind !== "SubjectAccessReview" || !spec?.resourceAttributes || typeof spec.user !== "string") {
      return this.sendJson(res, 400, status(400, "BadRequest", "not a SubjectAccessReview with a user and resourceAttributes"));
    }
    this.accessReviews.push(spec);
    const allowed = this.access(spec);
    return this.sendJson(res, 201, { apiVersion: "authorization.k8s.io/v1", kind: "SubjectAccessReview", metadata: {}, spec, status: { allowed, ...(allowed ? {} : { reason: "no RBAC policy matched" }) } });
  }

  private tektonGroup(): Obj {
    const versions = new Set<string>(this.opts.tektonVersions);
    if (this.opts.customRuns) versions.add("v1beta1");
    const vs = [...versions].sort((a, b) => (a === "v1" ? -1 : b === "v1" ? 1 : 0));
    return {
      name: "tekton.dev",
      versions: vs.map((v) => ({ groupVersion: `tekton.dev/${v}`, version: v })),
      preferredVersion: { groupVersion: `tekton.dev/${vs[0]}`, version: vs[0]! },
    };
  }

  private served(version: string): string[] {
    const out: string[] = [];
    if ((this.opts.tektonVersions as string[]).includes(version)) out.push("taskruns", "pipelineruns");
    if (this.opts.customRuns && version === "v1beta1") out.push("customruns");
    return out;
  }

  /** The stored text under the requested version (objects are not converted, only relabelled). */
  private asVersion(text: string, resource: string, version: string): string {
    const k = KINDS[resource]!;
    if (k.core) return text;
    const want = `"apiVersion":"tekton.dev/${version}"`;
    if (text.startsWith(`{${want}`)) return text;
    const o = JSON.parse(text) as Obj;
    return JSON.stringify({ ...o, apiVersion: `tekton.dev/${version}` });
  }

  /** A watch from `rv`: acknowledges what the previous session of `resource` sent up to `rv`, and a list taken at `rv`. */
  private acknowledge(resource: string, rv: number): void {
    const prev = this.sessions.get(resource);
    if (prev && rv >= prev.start) for (const x of prev.entries) if (x.rv <= rv) this.delivered.set(x.uid, x.done);
    const pages = this.listPages.get(resource)?.get(rv);
    if (pages) for (const x of pages) this.delivered.set(x.uid, x.done);
    this.listPages.get(resource)?.delete(rv);
  }

  private sortedKeys(resource: string): string[] {
    let s = this.sorted.get(resource);
    if (!s) {
      s = [...this.store.get(resource)!.keys()].sort();
      this.sorted.set(resource, s);
    }
    return s;
  }

  private listResponse(res: http.ServerResponse, resource: string, version: string, ns: string | null, q: URLSearchParams): void {
    const limit = Number(q.get("limit") ?? "0") || 0;
    this.listLimits.push(limit);
    let selector: Selector | null = null;
    try {
      selector = q.get("labelSelector") ? parseSelector(q.get("labelSelector")!) : null;
    } catch (e) {
      return this.sendJson(res, 400, status(400, "BadRequest", (e as Error).message));
    }
    const fields = q.get("fieldSelector") ? parseSelector(q.get("fieldSelector")!) : null;
    let listRv = this.rv;
    let after = "";
    const cont = q.get("continue");
    if (cont) {
      try {
        const c = JSON.parse(Buffer.from(cont, "base64url").toString()) as { rv: number; after: string };
        listRv = c.rv;
        after = c.after;
      } catch {
        return this.sendJson(res, 400, status(400, "BadRequest", "invalid continue token"));
      }
      if (listRv < this.compactedRv) {
        return this.sendJson(res, 410, status(410, "Expired", "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter."));
      }
      // Asking for the next page acknowledges the pages before it.
      for (const x of this.listPages.get(resource)?.get(listRv) ?? []) this.delivered.set(x.uid, x.done);
    }
    if (!this.listPages.has(resource)) this.listPages.set(resource, new Map());
    const pageLog = this.listPages.get(resource)!;
    if (!pageLog.has(listRv)) pageLog.set(listRv, []);
    const keys = this.sortedKeys(resource);
    const map = this.store.get(resource)!;
    // First key strictly after `after`.
    let lo = 0;
    let hi = keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (keys[mid]! <= after) lo = mid + 1;
      else hi = mid;
    }
    const items: string[] = [];
    let last = "";
    let more = false;
    for (let i = after ? lo : 0; i < keys.length; i++) {
      const k = keys[i]!;
      const e = map.get(k);
      if (!e) continue;
      if (ns && e.ns !== ns) continue;
      if (!matches(selector, e.labels)) continue;
      if (fields && !this.fieldsMatch(fields, e)) continue;
      if (limit > 0 && items.length >= limit) {
        more = true;
        break;
      }
      items.push(this.asVersion(e.text, resource, version));
      if (e.done) pageLog.get(listRv)!.push({ uid: e.uid, done: e.done });
      last = k;
    }
    const k = KINDS[resource]!;
    const metadata: Obj = { resourceVersion: String(listRv) };
    if (more) metadata.continue = Buffer.from(JSON.stringify({ rv: listRv, after: last })).toString("base64url");
    const apiVersion = k.core ? "v1" : `tekton.dev/${version}`;
    const text = `{"kind":"${k.kind}List","apiVersion":"${apiVersion}","metadata":${JSON.stringify(metadata)},"items":[${items.join(",")}]}`;
    this.sendJson(res, 200, text);
  }

  private fieldsMatch(sel: Selector, e: Entry): boolean {
    const o = JSON.parse(e.text) as Obj;
    const io = (o.involvedObject as Obj | undefined) ?? {};
    const fields: Record<string, string> = {
      "metadata.name": e.name,
      "metadata.namespace": e.ns,
      "involvedObject.uid": String(io.uid ?? ""),
      "involvedObject.name": String(io.name ?? ""),
      "involvedObject.kind": String(io.kind ?? ""),
      "involvedObject.namespace": String(io.namespace ?? ""),
    };
    return matches(sel, fields);
  }

  private watch(req: http.IncomingMessage, res: http.ServerResponse, resource: string, version: string, ns: string | null, q: URLSearchParams): void {
    const from = q.get("resourceVersion") ?? "";
    let selector: Selector | null = null;
    try {
      selector = q.get("labelSelector") ? parseSelector(q.get("labelSelector")!) : null;
    } catch (e) {
      return this.sendJson(res, 400, status(400, "BadRequest", (e as Error).message));
    }
    const fromRv = from === "" || from === "0" ? null : Number(from);
    if (fromRv !== null && (!Number.isFinite(fromRv) || fromRv < this.compactedRv)) {
      if (this.opts.expiredWatchAs === "http") return this.sendJson(res, 410, status(410, "Expired", `too old resource version: ${from} (${this.compactedRv})`));
      res.writeHead(200, { "content-type": "application/json", "transfer-encoding": "chunked" });
      res.end(JSON.stringify({ type: "ERROR", object: status(410, "Expired", `too old resource version: ${from} (${this.compactedRv})`) }) + "\n");
      return;
    }
    if (fromRv !== null) this.acknowledge(resource, fromRv);
    const session: Session = { start: fromRv ?? 0, entries: [] };
    this.sessions.set(resource, session);
    res.writeHead(200, { "content-type": "application/json", "transfer-encoding": "chunked" });
    res.flushHeaders();
    const w: Watch = { session, res, resource, version, ns, selector, queue: [], closed: false, timers: [] };
    this.watches.add(w);
    res.on("close", () => this.closeWatch(w));
    req.on("close", () => this.closeWatch(w));
    if (fromRv === null) {
      for (const e of this.store.get(resource)!.values()) {
        if ((!ns || e.ns === ns) && matches(selector, e.labels)) this.send(w, "ADDED", e);
      }
    } else {
      for (let i = this.historyStart; i < this.history.length; i++) {
        const h = this.history[i]!;
        if (h.rv <= fromRv || h.resource !== resource) continue;
        if (ns && h.entry.ns !== ns) continue;
        if (!matches(selector, h.entry.labels)) continue;
        this.send(w, h.type, h.entry);
      }
    }
    if (this.opts.bookmarkIntervalMs > 0 && q.get("allowWatchBookmarks") === "true") {
      const k = KINDS[resource]!;
      w.timers.push(
        setInterval(() => {
          if (this.stalled) return;
          this.writeLine(w, JSON.stringify({ type: "BOOKMARK", object: { kind: k.kind, apiVersion: `tekton.dev/${version}`, metadata: { resourceVersion: String(this.rv) } } }));
        }, this.opts.bookmarkIntervalMs),
      );
    }
    const timeout = Number(q.get("timeoutSeconds") ?? "0");
    if (timeout > 0) w.timers.push(setTimeout(() => this.closeWatch(w, true), timeout * 1000));
  }

  private send(w: Watch, type: string, e: Entry): void {
    this.writeLine(w, `{"type":"${type}","object":${this.asVersion(e.text, w.resource, w.version)}}`, e);
  }

  private writeLine(w: Watch, line: string, entry: Entry | null = null): void {
    if (w.closed) return;
    w.queue.push({ line, entry });
    if (!this.stalled) this.flush(w);
  }

  /** Writes the queued lines; their done states wait in the session for the client's acknowledgement. */
  private flush(w: Watch): void {
    if (w.closed || w.queue.length === 0) return;
    w.res.write(w.queue.map((q) => q.line).join("\n") + "\n");
    for (const q of w.queue) if (q.entry?.done) w.session.entries.push({ rv: q.entry.rv, uid: q.entry.uid, done: q.entry.done });
    w.queue = [];
  }

  private closeWatch(w: Watch, graceful = false): void {
    if (w.closed) return;
    if (graceful) this.flush(w);
    w.closed = true;
    for (const t of w.timers) clearTimeout(t as ReturnType<typeof setTimeout>);
    this.watches.delete(w);
    if (graceful) w.res.end();
    else w.res.destroy();
  }

  /** Resources with at least one open watch stream. */
  watchedResources(): Set<string> {
    return new Set([...this.watches].map((w) => w.resource));
  }

  /** Open watch streams, by resource. */
  openWatches(resource?: string): number {
    let n = 0;
    for (const w of this.watches) if (!resource || w.resource === resource) n++;
    return n;
  }
}
