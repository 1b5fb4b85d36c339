// The ListRecords page assembled from record encodings must be exactly what
// toBinary writes for the whole response, and decode to the same message.
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { expect, test } from "bun:test";
import { timestamp } from "../convert.ts";
import { ListRecordsResponseSchema } from "../../gen/api_pb.ts";
import { AnySchema, RecordSchema, type Record as RecordMsg } from "../../gen/resources_pb.ts";
import { binaryPage } from "./list-page.ts";

const record = (i: number, valueBytes: number): RecordMsg =>
  create(RecordSchema, {
    name: `ns/results/r/records/x${i}`,
    uid: `u${i}`,
    data: create(AnySchema, { type: "t", value: new Uint8Array(valueBytes).fill(0x61) }),
    etag: `u${i}-1000`,
    createTime: timestamp(1_700_000_000_000_001),
  });

// Sizes around the varint steps (1, 2 and 3 length bytes) and a 1 MB record.
const cases: Array<[string, RecordMsg[], string]> = [
  ["empty, no token", [], ""],
  ["empty, with a token", [], "tok"],
  ["small records", [record(1, 0), record(2, 10)], ""],
  ["records across varint sizes, a token", [record(1, 60), record(2, 100), record(3, 16_300), record(4, 16_400), record(5, 1 << 20)], "x".repeat(200)],
  ["a unicode token", [record(1, 5)], "tøken ✓"],
];

for (const [what, records, token] of cases) {
  test(`page bytes equal toBinary's: ${what}`, () => {
    const msg = create(ListRecordsResponseSchema, { records, nextPageToken: token });
    const got = binaryPage.page(records.map((r) => binaryPage.record(r)), token);
    expect(Buffer.compare(Buffer.from(got), Buffer.from(toBinary(ListRecordsResponseSchema, msg)))).toBe(0);
    expect(fromBinary(ListRecordsResponseSchema, got)).toEqual(msg);
  });
}
