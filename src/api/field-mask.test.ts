import { expect, test } from "bun:test";
import { create } from "@bufbuild/protobuf";
import { ListRecordsResponseSchema } from "../gen/api_pb.ts";
import { RecordListSummarySchema, ResultSchema } from "../gen/resources_pb.ts";
import { applyFieldMask, buildMask, parseFieldPaths } from "./field-mask.ts";

const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
const dec = (b: Uint8Array | undefined) => JSON.parse(new TextDecoder().decode(b));

const doc = { apiVersion: "tekton.dev/v1", metadata: { name: "tr", labels: { a: "1" } }, status: { conditions: [{ reason: "Succeeded" }] } };
const page = () =>
  create(ListRecordsResponseSchema, {
    records: [1, 2].map((i) => ({ name: `ns/results/r/records/${i}`, uid: `u${i}`, etag: "e", data: { type: "tekton.dev/v1.TaskRun", value: enc(doc) } })),
    nextPageToken: "tok",
  });

test("paths: split on commas, trimmed, blanks dropped; a shorter path covers a longer one", () => {
  expect(parseFieldPaths([" a.b , c", "", "d,,"])).toEqual(["a.b", "c", "d"]);
  expect(buildMask([])).toBeNull();
  const m = buildMask(["a.b.c", "a", "x.y", "x.z"])!;
  expect(m.get("a")!.size).toBe(0);
  expect([...m.get("x")!.keys()]).toEqual(["y", "z"]);
});

test("the CLI's list mask keeps names, uids and the metadata and status of the data", () => {
  const p = applyFieldMask(ListRecordsResponseSchema, page(), parseFieldPaths(["records.name,records.uid,records.create_time,records.update_time,records.data.value.metadata,records.data.value.status,next_page_token"]));
  expect(p.nextPageToken).toBe("tok");
  expect(p.records[0]!.name).toBe("ns/results/r/records/1");
  expect(p.records[0]!.uid).toBe("u1");
  expect(p.records[0]!.etag).toBe("");
  expect(p.records[0]!.data!.type).toBe("");
  expect(dec(p.records[0]!.data!.value)).toEqual({ metadata: doc.metadata, status: doc.status });
});

test("paths missing from the JSON are null; array elements by index; unknown proto names match nothing", () => {
  const p = applyFieldMask(ListRecordsResponseSchema, page(), ["records.name", "records.data.value.nope", "records.data.value.status.conditions.0.reason", "bogus"]);
  expect(p.nextPageToken).toBe("");
  expect(dec(p.records[1]!.data!.value)).toEqual({ nope: null, status: { conditions: { "0": { reason: "Succeeded" } } } });
  // Only unknown names: everything is cleared.
  expect(applyFieldMask(ListRecordsResponseSchema, page(), ["bogus"]).records).toEqual([]);
});

test("a path ending at a field keeps it whole; bytes that are not JSON are kept as they are", () => {
  const p = page();
  p.records[0]!.data!.value = new TextEncoder().encode("not json");
  applyFieldMask(ListRecordsResponseSchema, p, ["records.data.value.metadata", "records.name"]);
  expect(new TextDecoder().decode(p.records[0]!.data!.value)).toBe("not json");
  const whole = applyFieldMask(ListRecordsResponseSchema, page(), ["records.data"]);
  expect(whole.records[0]!.data!.type).toBe("tekton.dev/v1.TaskRun");
  expect(dec(whole.records[0]!.data!.value)).toEqual(doc);
});

test("maps keep only the named keys; nested messages are pruned", () => {
  const r = create(ResultSchema, { name: "n", annotations: { a: "1", b: "2" }, summary: { record: "x", type: "t", status: 1 } });
  applyFieldMask(ResultSchema, r, ["annotations.b", "summary.type"]);
  expect(r.name).toBe("");
  expect(r.annotations).toEqual({ b: "2" });
  expect(r.summary!.type).toBe("t");
  expect(r.summary!.record).toBe("");
  expect(r.summary!.status).toBe(0);
});

test("Struct rows keep content only under .fields, as upstream's reflection sees them", () => {
  const rows = () => create(RecordListSummarySchema, { summary: [{ total: 3, succeeded: 2 }] });
  expect(applyFieldMask(RecordListSummarySchema, rows(), ["summary"]).summary).toEqual([{ total: 3, succeeded: 2 }]);
  expect(applyFieldMask(RecordListSummarySchema, rows(), ["summary.fields.total"]).summary).toEqual([{ total: 3 }]);
  expect(applyFieldMask(RecordListSummarySchema, rows(), ["summary.total"]).summary).toEqual([{}]);
});
