/**
 * ListRecords answers in protobuf, assembled from each record's encoding
 * (kept in the encoded-record cache): the same bytes as toBinary writes for
 * the whole ListRecordsResponse (field 1 `records`, one length-delimited
 * entry per record, then field 2 `next_page_token` when not empty), with one
 * copy of each record instead of bufbuild's nested fork/join buffers.
 */
import { ListRecordsResponseSchema } from "../../gen/api_pb.ts";
import type { PageEncoding } from "../results-rpc.ts";
import { pageBuffers } from "./page-buffers.ts";
import { recordBinary } from "./record-binary.ts";
import { varintSize, writeVarint } from "./varint.ts";

// The tags below are ListRecordsResponse's; fail at start, not with wrong bytes, if the proto changes.
const layout = ListRecordsResponseSchema.fields.map((f) => `${f.number}:${f.name}`).join(",");
if (layout !== "1:records,2:next_page_token") throw new Error(`ListRecordsResponse is ${layout}; grpc/list-page.ts writes 1:records,2:next_page_token`);

const RECORDS_TAG = (1 << 3) | 2; // field 1, length-delimited
const TOKEN_TAG = (2 << 3) | 2; // field 2, length-delimited
const utf8 = new TextEncoder();


export const binaryPage: PageEncoding = {
  name: "binary",
  record: (r) => recordBinary(r),
  hold: (page) => pageBuffers.hold(page),
  page(records, nextPageToken) {
    const token = nextPageToken === "" ? null : utf8.encode(nextPageToken);
    let n = token ? 1 + varintSize(token.byteLength) + token.byteLength : 0;
    for (const r of records) n += 1 + varintSize(r.byteLength) + r.byteLength;
    const out = pageBuffers.take(n);
    let at = 0;
    for (const r of records) {
      out[at++] = RECORDS_TAG;
      at = writeVarint(out, at, r.byteLength);
      out.set(r, at);
      at += r.byteLength;
    }
    if (token) {
      out[at++] = TOKEN_TAG;
      at = writeVarint(out, at, token.byteLength);
      out.set(token, at);
    }
    return out;
  },
};
