/**
 * The Logs service (spec §7): Log records (`results.tekton.dev/v1alpha3.Log`)
 * and their bytes, with no knowledge of gRPC, HTTP or SQL. gRPC, REST and
 * the Dashboard route call it; the watcher's log capture calls its capture
 * methods in-process.
 *
 * A log is marked stored (`status.isStored`) only in the same transaction
 * that makes its bytes part of it: an upload is staged and committed at its
 * clean end, a capture when every container has ended. A stream that dies
 * half-way leaves the previous state (and no bytes) behind.
 */
import type { Clock } from "./clock.ts";
import { etagFor } from "./etag.ts";
import { AppError, failedPrecondition, invalidArgument, notFound } from "./errors.ts";
import { compileFilter } from "./filter/compile.ts";
import { isLogType, LOG_TYPE_V1ALPHA3, normalizeLogRecord } from "./log-record.ts";
import { renderedSize, renderLog, stepPrefix, taskStepPrefix, type LogSegment } from "./log-render.ts";
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, resumePosition } from "./listing.ts";
import { formatLogName, formatRecordName, parseLogName, parseResultName, type RecordName } from "./names.ts";
import { encodePageToken } from "./page-token.ts";
import type { Page } from "./results-service.ts";
import type { LogPart, LogPartInput, Store, WriteTx } from "./store.ts";
import type { Order, RecordResource } from "./types.ts";

/** Bytes gathered from an upload before they are compressed and stored as one chunk. */
export const LOG_CHUNK_BYTES = 256 * 1024;

export interface LogStatus {
  size: number;
  isStored: boolean;
  errorOnStoreMsg?: string;
  isRetryableErr?: boolean;
}

/** A log ready to stream. */
export interface OpenLog {
  record: RecordResource;
  /** Rendered size in bytes. */
  size: number;
  segments: LogSegment[];
  /** The bytes, one stored chunk at a time. */
  stream(): AsyncGenerator<Uint8Array>;
}

export interface LogMessage {
  name: string;
  data: Uint8Array;
}

type Doc = { [k: string]: unknown };
const obj = (v: unknown): Doc => (typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Doc) : {});

function parseDoc(r: RecordResource): Doc {
  try {
    return obj(JSON.parse(r.data?.value ?? "{}"));
  } catch {
    return {};
  }
}

/** The run a Log record is about (spec.resource). */
export function logResource(r: RecordResource): { kind: string; namespace: string; name: string; uid: string } {
  const res = obj(obj(parseDoc(r).spec).resource);
  const s = (k: string) => (typeof res[k] === "string" ? (res[k] as string) : "");
  return { kind: s("kind"), namespace: s("namespace"), name: s("name"), uid: s("uid") };
}

export function logStatusOf(r: RecordResource): LogStatus {
  const st = obj(parseDoc(r).status);
  return { size: typeof st.size === "number" ? st.size : 0, isStored: st.isStored === true, errorOnStoreMsg: typeof st.errorOnStoreMsg === "string" ? st.errorOnStoreMsg : "" };
}

const LIST_ORDER: Record<string, "create_time" | "update_time"> = {
  created_time: "create_time",
  create_time: "create_time",
  updated_time: "update_time",
  update_time: "update_time",
};

/** ListLogs' order_by: `created_time` / `updated_time` (upstream's spelling) or the API's, asc|desc. */
export function parseLogOrderBy(orderBy: string): Order | null {
  const s = orderBy.trim();
  if (s === "") return null;
  const items = s.split(",").map((x) => x.trim());
  if (items.length > 1) throw invalidArgument("order_by: ListLogs orders by one field only");
  const words = items[0]!.split(/\s+/);
  if (words.length > 2) throw invalidArgument(`order_by: invalid order_by "${items[0]}"`);
  const field = LIST_ORDER[words[0]!];
  if (!field) throw invalidArgument(`order_by: order by ${words[0]} not supported`);
  const dir = (words[1] ?? "asc").toLowerCase();
  if (dir !== "asc" && dir !== "desc") throw invalidArgument(`order_by: invalid sort direction "${words[1]}"`);
  return { field, desc: dir === "desc" };
}

/** ListLogs' page size: upstream accepts 1 and up, clamps above the maximum. */
export function logPageSize(n: number): number {
  if (!Number.isInteger(n) || n < 0) throw invalidArgument("page_size: PageSize should be greater than 0");
  if (n === 0) return DEFAULT_PAGE_SIZE;
  return Math.min(n, MAX_PAGE_SIZE);
}

const LOG_TYPE_FILTER = `data_type == "${LOG_TYPE_V1ALPHA3}"`;

export class LogsService {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
  ) {}

  private nextTime(prev: number): number {
    return Math.max(this.clock.nowMicros(), prev + 1);
  }

  // ---- finding a log ---------------------------------------------------------

  /**
   * The Log record a log name designates: the record `…/records/<id>` when it
   * is a Log, else the Log record of the run whose uid is `<id>` in the same
   * Result (how `tkn-results` asks: `…/logs/<run uid>`).
   */
  async resolve(n: RecordName): Promise<RecordResource> {
    const r = await this.store.getRecord(n.parent, n.result, n.record);
    if (r?.data && isLogType(r.data.type)) return r;
    const byRun = await this.store.logRecordsOfResult(n.parent, n.result, n.record);
    if (byRun[0]) return byRun[0];
    throw notFound(r ? `record ${formatRecordName(n.parent, n.result, n.record)} has no log` : `log ${formatLogName(n.parent, n.result, n.record)} not found`);
  }

  /** The segments of a log: its own parts, or for a PipelineRun's log without parts, its TaskRuns' logs. */
  private async segments(r: RecordResource): Promise<LogSegment[]> {
    const parts = await this.store.logParts(r.uid);
    const res = logResource(r);
    if (parts.length > 0 || res.kind !== "PipelineRun") return parts.map((part) => ({ part, prefix: part.label ? stepPrefix(part.label) : null }));
    const out: LogSegment[] = [];
    for (const child of await this.pipelineChildren(r, res.uid)) {
      for (const part of await this.store.logParts(child.log.uid)) {
        out.push({ part, prefix: part.label ? taskStepPrefix(child.task, part.label) : null });
      }
    }
    return out;
  }

  /**
   * A PipelineRun's TaskRun logs in execution order: the order of the
   * PipelineRun's childReferences (v1) or embedded taskRuns (v1beta1),
   * then any other TaskRun log of the Result by creation.
   */
  private async pipelineChildren(prLog: RecordResource, prUid: string): Promise<Array<{ task: string; log: RecordResource }>> {
    const logs = (await this.store.logRecordsOfResult(prLog.parent, prLog.resultName, null)).filter((l) => logResource(l).kind === "TaskRun");
    const order: Array<{ name: string; task: string }> = [];
    const run = prUid ? await this.store.getRecord(prLog.parent, prLog.resultName, prUid) : null;
    if (run) {
      const st = obj(parseDoc(run).status);
      for (const c of Array.isArray(st.childReferences) ? st.childReferences : []) {
        const ref = obj(c);
        if (typeof ref.name === "string" && (ref.kind ?? "TaskRun") === "TaskRun") order.push({ name: ref.name, task: String(ref.pipelineTaskName ?? ref.name) });
      }
      for (const [name, v] of Object.entries(obj(st.taskRuns))) order.push({ name, task: String(obj(v).pipelineTaskName ?? name) });
    }
    const byName = new Map(logs.map((l) => [logResource(l).name, l]));
    const out: Array<{ task: string; log: RecordResource }> = [];
    const seen = new Set<string>();
    for (const o of order) {
      const l = byName.get(o.name);
      if (l && !seen.has(l.uid)) {
        seen.add(l.uid);
        out.push({ task: o.task, log: l });
      }
    }
    for (const l of logs) {
      if (seen.has(l.uid)) continue;
      const doc = parseDoc(l);
      const task = obj(obj(doc.metadata).labels)["tekton.dev/pipelineTask"];
      out.push({ task: typeof task === "string" ? task : logResource(l).name, log: l });
    }
    return out;
  }

  /**
   * GetLog: the log named, once stored (spec §7.3: NOT_FOUND "Log doesn't
   * exist" before). `name` is a log name (`…/logs/<id>`); with
   * `acceptRecordNames`, a record name too (v1alpha3 and the Dashboard).
   */
  async openLog(name: string, opts: { acceptRecordNames?: boolean } = {}): Promise<OpenLog> {
    let n: RecordName;
    try {
      n = parseLogName(name);
    } catch (e) {
      const m = opts.acceptRecordNames ? /^([a-z0-9_-]{1,63})\/results\/([a-z0-9_-]{1,63})\/records\/([a-z0-9_-]{1,63})$/.exec(name) : null;
      if (!m) throw e;
      n = { parent: m[1]!, result: m[2]!, record: m[3]! };
    }
    const record = await this.resolve(n);
    const st = logStatusOf(record);
    if (!st.isStored || st.size <= 0) throw notFound("Log doesn't exist");
    const segments = await this.segments(record);
    if (segments.length === 0) throw notFound("Log doesn't exist");
    return this.open(record, segments);
  }

  private open(record: RecordResource, segments: LogSegment[]): OpenLog {
    return {
      record,
      segments,
      size: segments.reduce((a, s) => a + renderedSize(s), 0),
      stream: () => renderLog(segments, (p, s) => this.store.readLogChunk(p, s), () => new AppError("aborted", "the log was deleted while it was being read")),
    };
  }

  /**
   * A captured container's output, for the Tekton Dashboard (newest capture
   * of that pod and container). The Kubernetes namespace is not necessarily
   * the parent (a watch config may map it to another), so the caller's
   * parent scope is applied to what is found: a capture under a parent the
   * caller may not see is as absent as one never made.
   */
  async openContainerLog(namespace: string, pod: string, container: string, mayRead: (parent: string) => boolean = () => true): Promise<OpenLog> {
    const parts = await this.store.findLogPartsBySource(namespace, pod, container);
    const part = parts.find((p) => mayRead(p.recordParent));
    if (!part) throw notFound(`no log stored for container ${container} of pod ${namespace}/${pod}`);
    const record: RecordResource = { parent: "", resultName: "", name: "", uid: part.recordUid, data: null, createTime: 0, updateTime: 0, etag: "" };
    return this.open(record, [{ part, prefix: null }]);
  }

  // ---- ListLogs, DeleteLog --------------------------------------------------------

  /** `scope`: the parent globs a "-" list is limited to (the caller's; null = all). */
  async listLogs(req: { parent: string; filter: string; pageSize: number; pageToken: string; orderBy: string; scope?: readonly string[] | null }): Promise<Page<RecordResource>> {
    const parent = req.parent.trim();
    if (parent === "") throw invalidArgument("parent: Parent missing");
    const n = parseResultName(parent, "parent");
    const filter = req.filter.trim();
    const order = parseLogOrderBy(req.orderBy);
    const size = logPageSize(req.pageSize);
    // The user's filter alone first, so its errors point into its own text.
    compileFilter("logs", filter);
    const compiled = compileFilter("logs", filter ? `${LOG_TYPE_FILTER} && (${filter}\n)` : LOG_TYPE_FILTER);
    const after = resumePosition(this.store.pageTokenKey, { kind: "logs", parent, filter, order, pageToken: req.pageToken });
    const { items: rows, keys } = await this.store.listRecords({
      parent: n.parent === "-" ? null : n.parent,
      parents: req.scope ?? null,
      result: n.result === "-" ? null : n.result,
      filter: compiled,
      order,
      after,
      limit: size + 1,
    });
    if (rows.length <= size) return { items: rows, nextPageToken: "" };
    const items = rows.slice(0, size);
    const last = items[items.length - 1]!;
    const nextPageToken = encodePageToken(this.store.pageTokenKey, {
      kind: "logs",
      parent,
      filter,
      order,
      last: { value: order ? (keys[size - 1] ?? null) : null, uid: last.uid },
    });
    return { items, nextPageToken };
  }

  /** Deletes the Log record (the run's own record stays); its bytes go with it (cascade). */
  async deleteLog(name: string): Promise<void> {
    const n = parseLogName(name);
    const r = await this.resolve(n);
    await this.store.write((tx) => {
      if (!tx.deleteRecord(r.parent, r.resultName, r.name)) throw notFound(`log ${name} not found`);
    });
  }

  // ---- UpdateLog ----------------------------------------------------------------

  /**
   * Stores an uploaded log (client-streaming UpdateLog, spec §7.2). Every
   * message must name the same log; the bytes are staged chunk by chunk and
   * become the log (replacing any earlier one) only at the stream's clean end,
   * in the same transaction that sets `isStored` and `size`. On any failure
   * the staged bytes are deleted and the error is thrown.
   */
  async updateLog(messages: AsyncIterable<LogMessage>): Promise<{ record: string; bytesReceived: number }> {
    let first: string | null = null;
    let n: RecordName | null = null;
    let recordUid = "";
    let part: LogPart | null = null;
    let pending: Uint8Array[] = [];
    let pendingBytes = 0;
    let total = 0;
    const flush = async () => {
      if (!part || pendingBytes === 0) return;
      const data = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes);
      pending = [];
      pendingBytes = 0;
      await this.store.appendLog({ part: part.id, data });
    };
    try {
      for await (const m of messages) {
        if (first === null) {
          n = parseLogName(m.name, "log.name");
          first = m.name;
          const rec = await this.store.getRecord(n.parent, n.result, n.record);
          if (!rec) throw notFound(`record ${formatRecordName(n.parent, n.result, n.record)} not found`);
          if (!rec.data || !isLogType(rec.data.type)) {
            throw failedPrecondition(`record type ${rec.data?.type || "(none)"} cannot stream logs: it is not a ${LOG_TYPE_V1ALPHA3} record`);
          }
          recordUid = rec.uid;
          part = await this.store.write((tx) => tx.insertLogPart(recordUid, { idx: 0, staging: true, label: "" }));
        } else if (m.name !== first) {
          throw invalidArgument("log.name: cannot put logs for multiple records in the same stream");
        }
        if (m.data.byteLength === 0) continue;
        pending.push(m.data);
        pendingBytes += m.data.byteLength;
        total += m.data.byteLength;
        if (pendingBytes >= LOG_CHUNK_BYTES) await flush();
      }
      if (!n || !part) throw invalidArgument("log: the stream carried no message");
      await flush();
      const staged = part;
      const rn = n;
      await this.store.write((tx) => {
        const cur = tx.getRecord(rn.parent, rn.result, rn.record);
        if (!cur || cur.uid !== recordUid) throw notFound(`record ${formatRecordName(rn.parent, rn.result, rn.record)} was deleted during the upload`);
        for (const p of tx.logParts(recordUid)) if (p.id !== staged.id) tx.deleteLogPart(p.id);
        tx.commitLogPart(staged.id);
        this.setStatus(tx, cur, { size: total, isStored: true, errorOnStoreMsg: "", isRetryableErr: false });
      });
      return { record: formatRecordName(rn.parent, rn.result, rn.record), bytesReceived: total };
    } catch (e) {
      const staged = part;
      if (staged) await this.store.write((tx) => tx.deleteLogPart(staged.id)).catch(() => undefined);
      throw e;
    }
  }

  /** Writes a Log record's status fields (inside a write job). */
  setStatus(tx: WriteTx, cur: RecordResource, st: LogStatus): RecordResource {
    const doc = parseDoc(cur);
    const status = { ...obj(doc.status), size: st.size, isStored: st.isStored };
    if (st.errorOnStoreMsg !== undefined) (status as Doc).errorOnStoreMsg = st.errorOnStoreMsg;
    if (st.isRetryableErr !== undefined) (status as Doc).isRetryableErr = st.isRetryableErr;
    const value = normalizeLogRecord({ ...doc, status }, "record.data.value");
    if (value === cur.data?.value) return cur;
    const now = this.nextTime(cur.updateTime);
    const next: RecordResource = { ...cur, data: { type: cur.data?.type ?? LOG_TYPE_V1ALPHA3, value }, updateTime: now, etag: etagFor(cur.uid, now) };
    tx.updateRecord(next);
    return next;
  }

  // ---- capture (the watcher) ---------------------------------------------------------

  /**
   * Ensures a run's Log record exists (created not stored); returns it. The
   * Result must exist (the watcher stores the run first).
   */
  async ensureLogRecord(recordName: string, doc: object, ids: { newId(): string }): Promise<RecordResource> {
    const m = /^([a-z0-9_-]{1,63})\/results\/([a-z0-9_-]{1,63})\/records\/([a-z0-9_-]{1,63})$/.exec(recordName);
    if (!m) throw invalidArgument(`log record ${JSON.stringify(recordName)}: not a record name`);
    const [parent, result, name] = [m[1]!, m[2]!, m[3]!];
    const value = normalizeLogRecord(doc, "log");
    return this.store.write((tx) => {
      const cur = tx.getRecord(parent, result, name);
      if (cur) return cur;
      const now = this.nextTime(0);
      const uid = ids.newId();
      const r: RecordResource = { parent, resultName: result, name, uid, data: { type: LOG_TYPE_V1ALPHA3, value }, createTime: now, updateTime: now, etag: etagFor(uid, now) };
      tx.insertRecord(r);
      return r;
    });
  }

  async getRecordByName(recordName: string): Promise<RecordResource | null> {
    const m = /^([a-z0-9_-]{1,63})\/results\/([a-z0-9_-]{1,63})\/records\/([a-z0-9_-]{1,63})$/.exec(recordName);
    if (!m) return null;
    return this.store.getRecord(m[1]!, m[2]!, m[3]!);
  }

  /**
   * The parts of a capture, one per container of a pod (matched by pod and
   * container: a retried TaskRun's new pod gets parts of its own), creating
   * those missing.
   */
  async captureParts(recordUid: string, wanted: LogPartInput[]): Promise<LogPart[]> {
    return this.store.write((tx) => {
      const have = tx.logParts(recordUid);
      const key = (idx: number, pod: string | null, container: string | null) => (container ? `${pod}/${container}` : `#${idx}`);
      const byKey = new Map(have.map((p) => [key(p.idx, p.pod, p.container), p]));
      return wanted.map((w) => byKey.get(key(w.idx, w.source?.pod ?? null, w.source?.container ?? null)) ?? tx.insertLogPart(recordUid, w));
    });
  }

  /** The Log records of a Result: which run each is about, and whether it is stored. */
  async logsOfResult(resultName: string): Promise<Array<{ kind: string; name: string; uid: string; stored: boolean }>> {
    const n = parseResultName(resultName, "result");
    const recs = await this.store.logRecordsOfResult(n.parent, n.result, null);
    return recs.map((r) => ({ ...logResource(r), stored: logStatusOf(r).isStored }));
  }

  async appendCaptured(part: number, data: Uint8Array, state: { resume?: string | null; done?: boolean; note?: string | null }): Promise<LogPart> {
    return this.store.appendLog({ part, data, ...state });
  }

  async captureState(recordUid: string): Promise<LogPart[]> {
    return this.store.write((tx) => tx.logParts(recordUid));
  }

  /**
   * Marks a captured log stored: size is what its parts render to. For a
   * PipelineRun's log (no parts), the size of its TaskRuns' logs.
   */
  async completeCapture(recordUid: string, recordName: string): Promise<RecordResource> {
    const r = await this.getRecordByName(recordName);
    if (!r || r.uid !== recordUid) throw notFound(`log record ${recordName} was deleted`);
    const segs = await this.segments(r);
    const size = segs.reduce((a, s) => a + renderedSize(s), 0);
    return this.store.write((tx) => {
      const cur = tx.getRecord(r.parent, r.resultName, r.name);
      if (!cur || cur.uid !== recordUid) throw notFound(`log record ${recordName} was deleted`);
      return this.setStatus(tx, cur, { size, isStored: true });
    });
  }
}
