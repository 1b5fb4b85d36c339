/**
 * Proto messages <-> domain resources. Shared by every transport (gRPC now,
 * REST through the same messages), so both answer identically.
 */
import { create } from "@bufbuild/protobuf";
import { TimestampSchema, type Timestamp } from "@bufbuild/protobuf/wkt";
import { invalidArgument } from "../core/errors.ts";
import { formatRecordName, formatResultName } from "../core/names.ts";
import type { RecordInput, ResultInput } from "../core/results-service.ts";
import type { RecordResource, RecordSummary as DomainSummary, ResultResource } from "../core/types.ts";
import {
  AnySchema,
  RecordSchema,
  RecordSummarySchema,
  ResultSchema,
  type Record as RecordMsg,
  type RecordSummary,
  type Result,
} from "../gen/resources_pb.ts";

/** Protobuf's valid Timestamp range: 0001-01-01 to 9999-12-31. */
const MIN_SECONDS = -62135596800n;
const MAX_SECONDS = 253402300799n;

export function timestamp(micros: number): Timestamp {
  const s = Math.floor(micros / 1e6);
  return create(TimestampSchema, { seconds: BigInt(s), nanos: (micros - s * 1e6) * 1000 });
}

export function micros(ts: Timestamp | undefined, field: string): number | null {
  if (!ts) return null;
  if (ts.seconds < MIN_SECONDS || ts.seconds > MAX_SECONDS || ts.nanos < 0 || ts.nanos > 999_999_999) {
    throw invalidArgument(`${field}: timestamp out of range`);
  }
  return Number(ts.seconds) * 1e6 + Math.floor(ts.nanos / 1000);
}

function summaryIn(s: RecordSummary | undefined): DomainSummary | null {
  if (!s) return null;
  return {
    record: s.record,
    type: s.type,
    startTime: micros(s.startTime, "result.summary.start_time"),
    endTime: micros(s.endTime, "result.summary.end_time"),
    status: s.status,
    annotations: s.annotations,
  };
}

export function resultIn(r: Result | undefined): ResultInput | null {
  if (!r) return null;
  return { name: r.name, annotations: r.annotations, summary: summaryIn(r.summary) };
}

export function recordIn(r: RecordMsg | undefined): RecordInput | null {
  if (!r) return null;
  return { name: r.name, data: r.data ? { type: r.data.type, value: r.data.value } : null };
}

export function resultOut(r: ResultResource): Result {
  const created = timestamp(r.createTime);
  const updated = timestamp(r.updateTime);
  const s = r.summary;
  return create(ResultSchema, {
    name: formatResultName(r.parent, r.name),
    id: r.uid,
    uid: r.uid,
    createdTime: created,
    createTime: created,
    updatedTime: updated,
    updateTime: updated,
    annotations: r.annotations,
    etag: r.etag,
    summary: s
      ? create(RecordSummarySchema, {
          record: s.record,
          type: s.type,
          startTime: s.startTime === null ? undefined : timestamp(s.startTime),
          endTime: s.endTime === null ? undefined : timestamp(s.endTime),
          status: s.status,
          annotations: s.annotations,
        })
      : undefined,
  });
}

const encoder = new TextEncoder();

export function recordOut(r: RecordResource): RecordMsg {
  const created = timestamp(r.createTime);
  const updated = timestamp(r.updateTime);
  return create(RecordSchema, {
    name: formatRecordName(r.parent, r.resultName, r.name),
    id: r.uid,
    uid: r.uid,
    data: r.data ? create(AnySchema, { type: r.data.type, value: r.data.raw ?? encoder.encode(r.data.value) }) : undefined,
    etag: r.etag,
    createdTime: created,
    createTime: created,
    updatedTime: updated,
    updateTime: updated,
  });
}
