/**
 * ListRecords answers in protobuf JSON, assembled from each record's
 * encoding (kept in the encoded-record cache) as one byte buffer: the same
 * bytes as encodeMessage(ListRecordsResponse) writes (fields in declaration
 * order, `records` then `next_page_token`, empty ones left out), without
 * building and flattening a 0.8 MB string per page.
 */
import { ListRecordsResponseSchema } from "../../gen/api_pb.ts";
import { RecordSchema } from "../../gen/resources_pb.ts";
import type { PageEncoding } from "../results-rpc.ts";
import { encodeMessage } from "./json.ts";

const utf8 = new TextEncoder();

// The layout below is ListRecordsResponse's; fail at start, not with wrong bytes, if the proto changes.
const fieldNames = ListRecordsResponseSchema.fields.map((f) => f.name).join(",");
if (fieldNames !== "records,next_page_token") throw new Error(`ListRecordsResponse has fields ${fieldNames}; list-page.ts writes records,next_page_token`);

const OPEN = utf8.encode('{"records":[');
const COMMA = 0x2c;

/** Concatenates `head`, the parts separated by `sep` (or nothing when -1), and `tail`. */
export function joinBytes(head: Uint8Array, parts: readonly Uint8Array[], sep: number, tail: Uint8Array): Uint8Array {
  let n = head.byteLength + tail.byteLength + (sep >= 0 ? Math.max(parts.length - 1, 0) : 0);
  for (const p of parts) n += p.byteLength;
  const out = Buffer.allocUnsafe(n);
  out.set(head, 0);
  let at = head.byteLength;
  for (let i = 0; i < parts.length; i++) {
    if (i > 0 && sep >= 0) out[at++] = sep;
    const p = parts[i]!;
    out.set(p, at);
    at += p.byteLength;
  }
  out.set(tail, at);
  return out;
}

export const jsonPage: PageEncoding = {
  name: "json",
  record: (r) => utf8.encode(encodeMessage(RecordSchema, r)),
  page(records, nextPageToken) {
    const token = nextPageToken === "" ? "" : `"next_page_token":${JSON.stringify(nextPageToken)}`;
    if (records.length === 0) return utf8.encode(`{${token}}`);
    return joinBytes(OPEN, records, COMMA, utf8.encode(token === "" ? "]}" : `],${token}}`));
  },
};
