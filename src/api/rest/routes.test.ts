import { expect, test } from "bun:test";
import { Results } from "../../gen/api_pb.ts";
import { deriveRoutes } from "./routes.ts";

const routes = deriveRoutes([Results]);
const table = routes.map((r) => `${r.verb} ${r.path.openApiPath.replace("/apis/results.tekton.dev/v1alpha2", "")} ${r.method.name} body=${r.body || "-"}`);

test("every Results RPC has its upstream route (spec §2.2), derived from the google.api.http options", () => {
  expect(table).toEqual([
    "POST /parents/{parent}/results CreateResult body=result",
    "PATCH /parents/{parent}/results/{result} UpdateResult body=result",
    "GET /parents/{parent}/results/{result} GetResult body=-",
    "DELETE /parents/{parent}/results/{result} DeleteResult body=-",
    "GET /parents/{parent}/results ListResults body=-",
    "POST /parents/{parent}/results/{result}/records CreateRecord body=record",
    "PATCH /parents/{parent}/results/{result}/records/{record} UpdateRecord body=record",
    "GET /parents/{parent}/results/{result}/records/{record} GetRecord body=-",
    "GET /parents/{parent}/results/{result}/records ListRecords body=-",
    "DELETE /parents/{parent}/results/{result}/records/{record} DeleteRecord body=-",
    "GET /parents/{parent}/results/{result}/records/summary GetRecordListSummary body=-",
  ]);
});

test("query parameters are the fields bound by neither path nor body, under both spellings", () => {
  const q = (name: string) => routes.find((r) => r.method.name === name)!;
  expect(q("ListRecords").query.map((p) => p.field.name)).toEqual(["filter", "page_size", "page_token", "order_by"]);
  expect(Object.keys(q("ListRecords").querySchema.properties)).toContain("pageSize");
  expect(Object.keys(q("ListRecords").querySchema.properties)).toContain("fields");
  // UpdateResult: name and etag only by query (the quirk of spec §2.2); UpdateRecord: etag (update_mask is ignored).
  expect(q("UpdateResult").query.map((p) => p.field.name)).toEqual(["name", "etag"]);
  expect(q("UpdateRecord").query.map((p) => p.field.name)).toEqual(["etag"]);
  expect(q("GetRecordListSummary").query.map((p) => p.field.name)).toEqual(["summary", "filter", "group_by", "order_by"]);
});

test("int32 parameters accept integers in range only", () => {
  const p = routes.find((r) => r.method.name === "ListResults")!.query.find((x) => x.field.name === "page_size")!;
  expect(["5", "-1", "2147483647"].every((v) => p.accepts(v))).toBe(true);
  expect(["", "abc", "1.5", "2147483648", "-2147483649"].some((v) => p.accepts(v))).toBe(false);
});
