/** Row <-> resource mapping for the results and records tables. */
import type { Annotations, RecordResource, ResultResource } from "../core/types.ts";
import { bytesData } from "../core/validate.ts";

export interface ResultRow {
  uid: string;
  parent: string;
  name: string;
  create_time: number;
  update_time: number;
  etag: string;
  annotations: string | null;
  summary_record: string | null;
  summary_type: string | null;
  summary_start_time: number | null;
  summary_end_time: number | null;
  summary_status: number | null;
  summary_annotations: string | null;
}

export const RESULT_COLUMNS =
  "uid, parent, name, create_time, update_time, etag, annotations, summary_record, summary_type, " +
  "summary_start_time, summary_end_time, summary_status, summary_annotations";

export interface RecordRow {
  uid: string;
  parent: string;
  result_name: string;
  name: string;
  create_time: number;
  update_time: number;
  etag: string;
  type: string | null;
  /** The document as UTF-8 JSON bytes (see RECORD_COLUMNS). */
  data: Uint8Array | null;
}

/**
 * `json(data)` turns the stored JSONB back into text, read as its UTF-8
 * bytes: every answer sends bytes (protobuf `bytes`, base64 in JSON), so a
 * 12 KB JavaScript string per record read would only be encoded back to
 * bytes and left as garbage. The text is decoded only if someone asks.
 */
export const RECORD_COLUMNS = "uid, parent, result_name, name, create_time, update_time, etag, type, CAST(json(data) AS BLOB) AS data";

const annotationsOut = (s: string | null): Annotations => (s === null ? {} : (JSON.parse(s) as Annotations));
export const annotationsIn = (a: Annotations): string | null => (Object.keys(a).length === 0 ? null : JSON.stringify(a));

export function toResult(r: ResultRow): ResultResource {
  return {
    parent: r.parent,
    name: r.name,
    uid: r.uid,
    createTime: r.create_time,
    updateTime: r.update_time,
    etag: r.etag,
    annotations: annotationsOut(r.annotations),
    summary:
      r.summary_record === null
        ? null
        : {
            record: r.summary_record,
            type: r.summary_type ?? "",
            startTime: r.summary_start_time,
            endTime: r.summary_end_time,
            status: r.summary_status ?? 0,
            annotations: annotationsOut(r.summary_annotations),
          },
  };
}

export function resultParams(r: ResultResource) {
  const s = r.summary;
  return {
    uid: r.uid,
    parent: r.parent,
    name: r.name,
    create_time: r.createTime,
    update_time: r.updateTime,
    etag: r.etag,
    annotations: annotationsIn(r.annotations),
    summary_record: s?.record ?? null,
    summary_type: s?.type ?? null,
    summary_start_time: s?.startTime ?? null,
    summary_end_time: s?.endTime ?? null,
    summary_status: s ? s.status : null,
    summary_annotations: s ? annotationsIn(s.annotations) : null,
  };
}

export function toRecord(r: RecordRow): RecordResource {
  return {
    parent: r.parent,
    resultName: r.result_name,
    name: r.name,
    uid: r.uid,
    createTime: r.create_time,
    updateTime: r.update_time,
    etag: r.etag,
    data: r.data === null ? null : bytesData(r.type ?? "", r.data),
  };
}
