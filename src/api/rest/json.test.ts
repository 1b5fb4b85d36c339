import { expect, test } from "bun:test";
import { create, toJson, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { EmptySchema } from "@bufbuild/protobuf/wkt";
import { ListRecordsResponseSchema, ListResultsResponseSchema, UpdateRecordRequestSchema } from "../../gen/api_pb.ts";
import { HealthCheckResponseSchema } from "../../gen/grpc/health/v1/health_pb.ts";
import { LogSummarySchema, RecordListSummarySchema, RecordSchema, ResultSchema } from "../../gen/resources_pb.ts";
import { timestamp } from "../convert.ts";
import { makeRng } from "../../../test/support/data.ts";
import { encodeMessage, formatTimestamp } from "./json.ts";

const same = <D extends DescMessage>(desc: D, msg: MessageShape<D>) =>
  expect(JSON.parse(encodeMessage(desc, msg))).toEqual(toJson(desc, msg, { useProtoFieldName: true }) as object);

test("timestamps: RFC 3339 UTC with 0, 3, 6 or 9 fractional digits", () => {
  expect(formatTimestamp(1677742008n, 972907000)).toBe('"2023-03-02T07:26:48.972907Z"');
  expect(formatTimestamp(1677742008n, 0)).toBe('"2023-03-02T07:26:48Z"');
  expect(formatTimestamp(1677742008n, 5_000_000)).toBe('"2023-03-02T07:26:48.005Z"');
  expect(formatTimestamp(1677742008n, 1)).toBe('"2023-03-02T07:26:48.000000001Z"');
  expect(formatTimestamp(-62135596800n, 0)).toBe('"0001-01-01T00:00:00Z"');
  expect(formatTimestamp(253402300799n, 999999999)).toBe('"9999-12-31T23:59:59.999999999Z"');
});

test("fields in declaration order (as Go's protojson), empty ones omitted, map keys sorted", () => {
  const r = create(ResultSchema, {
    name: "ns/results/r",
    id: "u",
    uid: "u",
    createdTime: timestamp(1),
    createTime: timestamp(1),
    annotations: { z: "1", a: "2" },
    etag: "e",
    summary: { record: "ns/results/r/records/x", type: "t", status: 1 },
  });
  expect(encodeMessage(ResultSchema, r)).toBe(
    '{"name":"ns/results/r","id":"u","uid":"u","created_time":"1970-01-01T00:00:00.000001Z","create_time":"1970-01-01T00:00:00.000001Z",' +
      '"annotations":{"a":"2","z":"1"},"etag":"e","summary":{"record":"ns/results/r/records/x","type":"t","status":"SUCCESS"}}',
  );
  expect(encodeMessage(ListRecordsResponseSchema, create(ListRecordsResponseSchema))).toBe("{}");
  expect(encodeMessage(EmptySchema, create(EmptySchema))).toBe("{}");
});

test("agrees with bufbuild's toJson on random Results, Records, lists, summaries and other types", () => {
  const rng = makeRng(42);
  const str = () => (rng() < 0.3 ? "" : Array.from({ length: 1 + Math.floor(rng() * 12) }, () => String.fromCharCode(32 + Math.floor(rng() * 0x2ff))).join(""));
  const ts = () => (rng() < 0.3 ? undefined : timestamp(Math.floor(rng() * 4e15) - 1e15));
  const bytes = () => Uint8Array.from({ length: Math.floor(rng() * 40) }, () => Math.floor(rng() * 256));
  const result = () =>
    create(ResultSchema, {
      name: str(), id: str(), uid: str(), createdTime: ts(), createTime: ts(), updatedTime: ts(), updateTime: ts(), etag: str(),
      annotations: rng() < 0.5 ? {} : { [str()]: str(), [str()]: str() },
      summary: rng() < 0.4 ? undefined : { record: str(), type: str(), startTime: ts(), endTime: ts(), status: Math.floor(rng() * 6), annotations: { k: str() } },
    });
  const record = () => create(RecordSchema, { name: str(), id: str(), uid: str(), etag: str(), createTime: ts(), updatedTime: ts(), data: rng() < 0.2 ? undefined : { type: str(), value: bytes() } });
  for (let i = 0; i < 300; i++) {
    same(ResultSchema, result());
    same(RecordSchema, record());
    same(ListResultsResponseSchema, create(ListResultsResponseSchema, { results: Array.from({ length: i % 4 }, result), nextPageToken: str() }));
    same(ListRecordsResponseSchema, create(ListRecordsResponseSchema, { records: Array.from({ length: i % 4 }, record), nextPageToken: str() }));
  }
  same(RecordListSummarySchema, create(RecordListSummarySchema, { summary: [{ total: 3, avg_duration: "1h", group_value: null, nested: { a: [1, "x", true] } }, {}] }));
  same(LogSummarySchema, create(LogSummarySchema, { record: "r", bytesReceived: 36n }));
  same(HealthCheckResponseSchema, create(HealthCheckResponseSchema, { status: 1 }));
  // A message holding a well-known type the encoder does not write itself (FieldMask) goes through toJson.
  same(UpdateRecordRequestSchema, create(UpdateRecordRequestSchema, { record: record(), updateMask: { paths: ["data.value"] }, etag: "e" }));
});
