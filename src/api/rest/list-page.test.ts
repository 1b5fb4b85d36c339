// The ListRecords page assembled from record encodings must be exactly what
// the message encoder writes for the whole response.
import { create } from "@bufbuild/protobuf";
import { expect, test } from "bun:test";
import { timestamp } from "../convert.ts";
import { ListRecordsResponseSchema } from "../../gen/api_pb.ts";
import { AnySchema, RecordSchema, type Record as RecordMsg } from "../../gen/resources_pb.ts";
import { encodeMessage } from "./json.ts";
import { jsonPage } from "./list-page.ts";

const record = (i: number, value: string): RecordMsg =>
  create(RecordSchema, {
    name: `ns/results/r/records/x${i}`,
    id: `u${i}`,
    uid: `u${i}`,
    data: create(AnySchema, { type: "tekton.dev/v1.TaskRun", value: new TextEncoder().encode(value) }),
    etag: `u${i}-1700000000000001000`,
    createTime: timestamp(1_700_000_000_000_001),
    updateTime: timestamp(1_700_000_000_000_001 + i),
  });

const cases: Array<[string, RecordMsg[], string]> = [
  ["empty, no token", [], ""],
  ["empty, with a token", [], "tok_en-1=="],
  ["one record, no token", [record(1, '{"a":1}')], ""],
  ["records with unicode and a token", [record(1, '{"msg":"naïve – ✓ \\"quoted\\""}'), record(2, "{}"), record(3, "x".repeat(20_000))], "abc/def+=="],
  ["a record without data", [create(RecordSchema, { name: "ns/results/r/records/empty", uid: "u9" })], "t"],
];

for (const [what, records, token] of cases) {
  test(`page bytes equal the message encoder's: ${what}`, () => {
    const want = new TextEncoder().encode(encodeMessage(ListRecordsResponseSchema, create(ListRecordsResponseSchema, { records, nextPageToken: token })));
    const got = jsonPage.page(records.map((r) => jsonPage.record(r)), token);
    expect(Buffer.from(got).toString()).toBe(Buffer.from(want).toString());
    expect(Buffer.compare(Buffer.from(got), Buffer.from(want))).toBe(0);
  });
}
