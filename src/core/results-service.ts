/**
 * The Results and Records service: upstream's semantics (spec §3), with no
 * knowledge of gRPC, HTTP or SQL. gRPC and REST both call these methods;
 * the watcher calls them in-process.
 */
import type { Clock, IdGenerator } from "./clock.ts";
import { etagFor } from "./etag.ts";
import { failedPrecondition, invalidArgument, notFound } from "./errors.ts";
import { compileFilter } from "./filter/compile.ts";
import { formatDuration, parseSummaryRequest } from "./summary.ts";
import { pageSize, parseOrderBy, resumePosition } from "./listing.ts";
import { encodePageToken } from "./page-token.ts";
import { formatRecordName, formatResultName, parseRecordName, parseResultName } from "./names.ts";
import type { HeldRecord, Hold, Keyed, ListQuery, RecordHead, Store } from "./store.ts";
import type { Annotations, OrderField, RecordData, RecordResource, RecordSummary, ResultResource } from "./types.ts";
import { validateData, validateDataBytes, validateSummary } from "./validate.ts";

export interface ResultInput {
  name: string;
  annotations: Annotations;
  /** null when absent; an empty summary is present and fails validation. */
  summary: RecordSummary | null;
}

export interface DataInput {
  type: string;
  value: Uint8Array;
}

export interface RecordInput {
  name: string;
  data: DataInput | null;
}

export interface ListInput {
  parent: string;
  filter: string;
  pageSize: number;
  pageToken: string;
  orderBy: string;
  /**
   * Parent globs a "-" list is limited to (the caller's scope, from the
   * authorizer); absent or null: every parent.
   */
  scope?: readonly string[] | null;
}

export interface Page<T> {
  items: T[];
  nextPageToken: string;
}

export const RESULT_ORDER_FIELDS: readonly OrderField[] = [
  "create_time",
  "update_time",
  "summary.start_time",
  "summary.end_time",
];
export const RECORD_ORDER_FIELDS: readonly OrderField[] = [
  "create_time",
  "update_time",
  "data.status.startTime",
  "data.status.completionTime",
];

const PARENT_RE = /^[a-z0-9_-]{1,63}$/;

export class ResultsService {
  private readonly isJson: (text: string) => boolean;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly ids: IdGenerator,
  ) {
    this.isJson = (text) => store.isJson(text);
  }

  /** A strictly later time than `prev`, so two updates never share an etag. */
  private nextTime(prev = 0): number {
    return Math.max(this.clock.nowMicros(), prev + 1);
  }

  // ---- Results -------------------------------------------------------------

  async createResult(parent: string, input: ResultInput | null): Promise<ResultResource> {
    if (!input) throw invalidArgument("result: required");
    const n = parseResultName(input.name, "result.name");
    if (parent !== n.parent) throw invalidArgument("parent: requested parent does not match resource name");
    if (input.summary) validateSummary(input.summary);
    return this.store.write((tx) => {
      const now = this.nextTime();
      const uid = this.ids.newId();
      const r: ResultResource = {
        parent: n.parent,
        name: n.result,
        uid,
        createTime: now,
        updateTime: now,
        annotations: input.annotations,
        etag: etagFor(uid, now),
        summary: input.summary,
      };
      tx.insertResult(r);
      return r;
    });
  }

  async getResult(name: string): Promise<ResultResource> {
    const n = parseResultName(name);
    const r = await this.store.getResult(n.parent, n.result);
    if (!r) throw notFound(`result ${formatResultName(n.parent, n.result)} not found`);
    return r;
  }

  /**
   * Replaces annotations and summary wholesale (an absent result clears both).
   * The name comes from `name`, or from result.name when `name` is empty: the
   * fallback lets REST clients that only fill the path succeed (upstream fails).
   */
  async updateResult(name: string, input: ResultInput | null, etag: string): Promise<ResultResource> {
    const n = parseResultName(name !== "" ? name : (input?.name ?? ""), "name");
    if (input?.summary) validateSummary(input.summary);
    return this.store.write((tx) => {
      const cur = tx.getResult(n.parent, n.result);
      if (!cur) throw notFound(`failed to find a result: ${formatResultName(n.parent, n.result)}`);
      if (etag !== "" && etag !== cur.etag) throw failedPrecondition("the etag mismatches");
      const now = this.nextTime(cur.updateTime);
      const next: ResultResource = {
        ...cur,
        annotations: input?.annotations ?? {},
        summary: input?.summary ?? null,
        updateTime: now,
        etag: etagFor(cur.uid, now),
      };
      tx.updateResult(next);
      return next;
    });
  }

  async deleteResult(name: string): Promise<void> {
    const n = parseResultName(name);
    await this.store.write((tx) => {
      if (!tx.deleteResult(n.parent, n.result)) throw notFound(`result ${formatResultName(n.parent, n.result)} not found`);
    });
  }

  async listResults(req: ListInput): Promise<Page<ResultResource>> {
    const parent = req.parent.trim();
    if (parent === "") throw invalidArgument("parent: parent missing");
    if (parent !== "-" && !PARENT_RE.test(parent)) {
      throw invalidArgument(`parent ${JSON.stringify(parent.slice(0, 80))}: must be "-" or match ^[a-z0-9_-]{1,63}$`);
    }
    return this.list("results", req, parent, RESULT_ORDER_FIELDS, (q) =>
      this.store.listResults({ ...q, parent: parent === "-" ? null : parent, parents: req.scope ?? null }),
    );
  }

  // ---- Records -------------------------------------------------------------

  async createRecord(parent: string, input: RecordInput | null): Promise<RecordResource> {
    if (!input) throw invalidArgument("record: required");
    const n = parseRecordName(input.name, "record.name");
    if (parent !== formatResultName(n.parent, n.result)) {
      throw invalidArgument("parent: requested parent does not match resource name");
    }
    const data = input.data ? validateDataBytes(input.data.type, input.data.value) : null;
    return this.store.write((tx) => {
      const now = this.nextTime();
      const uid = this.ids.newId();
      const r: RecordResource = {
        parent: n.parent,
        resultName: n.result,
        name: n.record,
        uid,
        data,
        createTime: now,
        updateTime: now,
        etag: etagFor(uid, now),
      };
      tx.insertRecord(r);
      return r;
    });
  }

  async getRecord(name: string): Promise<RecordResource> {
    const n = parseRecordName(name);
    const r = await this.store.getRecord(n.parent, n.result, n.record);
    if (!r) throw notFound(`record ${formatRecordName(n.parent, n.result, n.record)} not found`);
    return r;
  }

  /**
   * Merges into the stored record as a proto merge does: a non-empty data.type
   * or data.value replaces the stored one, empty ones keep it. No upsert.
   */
  async updateRecord(input: RecordInput | null, etag: string): Promise<RecordResource> {
    if (!input) throw invalidArgument("record: required");
    const n = parseRecordName(input.name, "record.name");
    const newBytes = input.data && input.data.value.length > 0 ? input.data.value : null;
    return this.store.write((tx) => {
      // With a new value the stored one is not needed: skip reading it.
      const cur: RecordHead | RecordResource | null =
        newBytes !== null ? tx.getRecordHead(n.parent, n.result, n.record) : tx.getRecord(n.parent, n.result, n.record);
      if (!cur) throw notFound(`record ${formatRecordName(n.parent, n.result, n.record)} not found`);
      if (etag !== "" && etag !== cur.etag) throw failedPrecondition("the etag mismatches");
      // The merge starts from what is stored; a head has no value (it is being replaced).
      const stored = "dataType" in cur ? { type: cur.dataType, value: "" } : { type: cur.data?.type ?? null, value: cur.data?.value ?? "" };
      let data: RecordData | null = "dataType" in cur ? null : cur.data;
      if (input.data) {
        const type = input.data.type !== "" ? input.data.type : (stored.type ?? "");
        data = newBytes !== null ? validateDataBytes(type, newBytes) : validateData({ type, value: stored.value }, "record.data", this.isJson);
      }
      const now = this.nextTime(cur.updateTime);
      const next: RecordResource = {
        parent: cur.parent,
        resultName: cur.resultName,
        name: cur.name,
        uid: cur.uid,
        createTime: cur.createTime,
        data,
        updateTime: now,
        etag: etagFor(cur.uid, now),
      };
      tx.updateRecord(next);
      return next;
    });
  }

  async deleteRecord(name: string): Promise<void> {
    const n = parseRecordName(name);
    await this.store.write((tx) => {
      if (!tx.deleteRecord(n.parent, n.result, n.record)) {
        throw notFound(`record ${formatRecordName(n.parent, n.result, n.record)} not found`);
      }
    });
  }

  /**
   * With `hold`, records the caller already holds in the listed state come
   * back as HeldRecords, without their data (see Store.listRecords).
   */
  async listRecords(req: ListInput): Promise<Page<RecordResource>>;
  async listRecords<H>(req: ListInput, hold: Hold<H>): Promise<Page<RecordResource | HeldRecord<H>>>;
  async listRecords<H>(req: ListInput, hold?: Hold<H>): Promise<Page<RecordResource | HeldRecord<H>>> {
    const parent = req.parent.trim();
    if (parent === "") throw invalidArgument("parent: parent missing");
    const n = parseResultName(parent, "parent");
    return this.list("records", req, parent, RECORD_ORDER_FIELDS, (q) => {
      const query = { ...q, parent: n.parent === "-" ? null : n.parent, parents: req.scope ?? null, result: n.result === "-" ? null : n.result };
      return hold ? this.store.listRecords(query, hold) : this.store.listRecords(query);
    });
  }

  /**
   * GetRecordListSummary: one object per group (exactly one without
   * group_by), keyed by the requested aggregates, plus group_value.
   */
  async summarizeRecords(req: { parent: string; summary: string; filter: string; groupBy: string; orderBy: string; scope?: readonly string[] | null }): Promise<Array<Record<string, number | string | null>>> {
    const parent = req.parent.trim();
    if (parent === "") throw invalidArgument("parent: parent missing");
    const n = parseResultName(parent, "parent");
    const q = parseSummaryRequest(req.summary, req.groupBy, req.orderBy);
    const filter = compileFilter("records", req.filter);
    const rows = await this.store.summarizeRecords(
      { parent: n.parent === "-" ? null : n.parent, parents: req.scope ?? null, result: n.result === "-" ? null : n.result, filter },
      q,
    );
    return rows.map((row) => {
      const out: Record<string, number | string | null> = {};
      for (const a of q.aggregates) {
        const v = row[a] ?? null;
        out[a] = a.endsWith("_duration") && typeof v === "number" ? formatDuration(v) : v;
      }
      if (q.groupBy) out.group_value = row.group_value ?? null;
      return out;
    });
  }

  // ---- shared lister -------------------------------------------------------

  private async list<T extends { uid: string }>(
    kind: "results" | "records" | "logs",
    req: ListInput,
    parent: string,
    fields: readonly OrderField[],
    fetch: (q: Omit<ListQuery, "parent">) => Promise<Keyed<T>>,
  ): Promise<Page<T>> {
    const filter = req.filter.trim();
    const order = parseOrderBy(req.orderBy, fields);
    const after = resumePosition(this.store.pageTokenKey, { kind, parent, filter, order, pageToken: req.pageToken });
    const size = pageSize(req.pageSize);
    const compiled = compileFilter(kind, filter);
    const { items: rows, keys } = await fetch({ filter: compiled, order, after, limit: size + 1 });
    if (rows.length <= size) return { items: rows, nextPageToken: "" };
    const items = rows.slice(0, size);
    const last = items[items.length - 1]!;
    const nextPageToken = encodePageToken(this.store.pageTokenKey, {
      kind,
      parent,
      filter,
      order,
      last: { value: order ? (keys[size - 1] ?? null) : null, uid: last.uid },
    });
    return { items, nextPageToken };
  }
}
