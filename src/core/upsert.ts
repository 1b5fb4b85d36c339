/**
 * Idempotent writes of one observed object: its Result ensured (created, or
 * changed only when the desired content differs) and its Record upserted
 * (created, or updated only when the data differs), in ONE write job, so the
 * check and the write are atomic and a PipelineRun and its TaskRuns racing
 * to create their shared Result cannot collide.
 *
 * This is upstream watcher's ensureResult + upsertRecord (spec §8.3-8.4)
 * moved next to the data: the same validation as ResultsService, no
 * transport, no extra round trip per step. The watcher is its caller; it
 * decides what the Result should look like through `mergeResult`, which
 * runs inside the write with the Result as stored.
 */
import type { Clock, IdGenerator } from "./clock.ts";
import { etagFor } from "./etag.ts";
import { invalidArgument } from "./errors.ts";
import { formatResultName, parseRecordName, parseResultName } from "./names.ts";
import type { Store } from "./store.ts";
import type { Annotations, RecordData, RecordSummary, ResultResource } from "./types.ts";
import { validateData, validateSummary } from "./validate.ts";

/** What a Result should hold; `null` from mergeResult leaves a stored Result as it is. */
export interface DesiredResult {
  annotations: Annotations;
  summary: RecordSummary | null;
}

export interface PutInput {
  /** "<parent>/results/<result>". */
  result: string;
  /**
   * Called inside the write with the stored Result (null when there is none).
   * Returns the Result wanted, or null for "leave it". With no stored Result,
   * null creates one with no annotations and no summary.
   */
  mergeResult: (current: ResultResource | null) => DesiredResult | null;
  /** "<parent>/results/<result>/records/<record>"; must be under `result`. */
  record: string;
  /** data.value is JSON text. */
  data: RecordData;
}

export type WriteKind = "created" | "updated" | "unchanged";

export interface PutOutcome {
  result: WriteKind;
  record: WriteKind;
  /** uid of the Result (stored or new). */
  resultUid: string;
}

export class Upserter {
  private readonly isJson: (text: string) => boolean;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly ids: IdGenerator,
  ) {
    this.isJson = (text) => store.isJson(text);
  }

  private nextTime(prev = 0): number {
    return Math.max(this.clock.nowMicros(), prev + 1);
  }

  /**
   * Ensures the Result and upserts the Record. Errors: invalid_argument for
   * a bad name, summary or data (nothing is written); anything the store
   * throws otherwise. Calling it twice with the same input writes once.
   */
  async put(input: PutInput): Promise<PutOutcome> {
    const rn = parseResultName(input.result, "result");
    const cn = parseRecordName(input.record, "record");
    if (cn.parent !== rn.parent || cn.result !== rn.result) {
      throw invalidArgument(`record ${JSON.stringify(input.record)}: not under result ${JSON.stringify(input.result)}`);
    }
    return this.store.write((tx) => {
      // ---- the Result
      const cur = tx.getResult(rn.parent, rn.result);
      const want = input.mergeResult(cur);
      if (want?.summary) validateSummary(want.summary);
      let result: WriteKind = "unchanged";
      let resultUid: string;
      if (!cur) {
        const now = this.nextTime();
        const uid = this.ids.newId();
        tx.insertResult({
          parent: rn.parent,
          name: rn.result,
          uid,
          createTime: now,
          updateTime: now,
          annotations: want?.annotations ?? {},
          etag: etagFor(uid, now),
          summary: want?.summary ?? null,
        });
        result = "created";
        resultUid = uid;
      } else {
        resultUid = cur.uid;
        if (want && !sameResult(cur, want)) {
          const now = this.nextTime(cur.updateTime);
          tx.updateResult({ ...cur, annotations: want.annotations, summary: want.summary, updateTime: now, etag: etagFor(cur.uid, now) });
          result = "updated";
        }
      }

      // ---- the Record
      const stored = tx.getRecord(cn.parent, cn.result, cn.record);
      if (stored && stored.data?.type === input.data.type && stored.data.value === input.data.value) {
        return { result, record: "unchanged", resultUid };
      }
      const data = validateData(input.data, "record.data", this.isJson);
      if (!stored) {
        const now = this.nextTime();
        const uid = this.ids.newId();
        tx.insertRecord({ parent: cn.parent, resultName: cn.result, name: cn.record, uid, data, createTime: now, updateTime: now, etag: etagFor(uid, now) });
        return { result, record: "created", resultUid };
      }
      const now = this.nextTime(stored.updateTime);
      tx.updateRecord({ ...stored, data, updateTime: now, etag: etagFor(stored.uid, now) });
      return { result, record: "updated", resultUid };
    });
  }

  /** Creates the Record only when absent (event lists are written once); false when it existed. */
  async createOnce(resultName: string, record: string, data: RecordData): Promise<boolean> {
    const rn = parseResultName(resultName, "result");
    const cn = parseRecordName(record, "record");
    if (cn.parent !== rn.parent || cn.result !== rn.result) {
      throw invalidArgument(`record ${JSON.stringify(record)}: not under result ${JSON.stringify(formatResultName(rn.parent, rn.result))}`);
    }
    const valid = validateData(data, "record.data", this.isJson);
    return this.store.write((tx) => {
      if (tx.getRecordHead(cn.parent, cn.result, cn.record)) return false;
      const now = this.nextTime();
      const uid = this.ids.newId();
      tx.insertRecord({ parent: cn.parent, resultName: cn.result, name: cn.record, uid, data: valid, createTime: now, updateTime: now, etag: etagFor(uid, now) });
      return true;
    });
  }
}

function sameAnnotations(a: Annotations, b: Annotations): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) if (b[k] !== a[k]) return false;
  return true;
}

function sameSummary(a: RecordSummary | null, b: RecordSummary | null): boolean {
  if (a === null || b === null) return a === b;
  return (
    a.record === b.record &&
    a.type === b.type &&
    a.status === b.status &&
    a.startTime === b.startTime &&
    a.endTime === b.endTime &&
    sameAnnotations(a.annotations, b.annotations)
  );
}

export function sameResult(cur: ResultResource, want: DesiredResult): boolean {
  return sameAnnotations(cur.annotations, want.annotations) && sameSummary(cur.summary, want.summary);
}
