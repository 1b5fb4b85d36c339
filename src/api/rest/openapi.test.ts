import { expect, test } from "bun:test";
import { API_ROUTES } from "./rest-app.ts";
import { apiPage } from "./api-page.ts";
import { openApiDocument } from "./openapi.ts";

const doc = openApiDocument(API_ROUTES);

test("one operation per route, generated from the route table, with path and query parameters", () => {
  const ops = Object.entries(doc.paths).flatMap(([p, v]) => Object.entries(v).map(([verb, op]) => ({ p, verb, op })));
  expect(ops.length).toBe(API_ROUTES.length);
  expect(ops.map((o) => o.op.operationId).sort()).toEqual(API_ROUTES.map((r) => r.method.name).sort());
  const list = doc.paths["/apis/results.tekton.dev/v1alpha2/parents/{parent}/results/{result}/records"]!.get!;
  expect(list.parameters.map((p) => `${p.in}:${p.name}`)).toEqual(["path:parent", "path:result", "query:filter", "query:page_size", "query:page_token", "query:order_by", "query:fields"]);
  expect(list.parameters.find((p) => p.name === "page_size")!.schema).toMatchObject({ type: "integer", format: "int32", maximum: 2147483647 });
  expect(list.responses["200"]!.content["application/json"]!.schema).toEqual({ $ref: "#/components/schemas/tekton.results.v1alpha2.ListRecordsResponse" });
  const create = doc.paths["/apis/results.tekton.dev/v1alpha2/parents/{parent}/results"]!.post!;
  expect(create.requestBody!.content["application/json"]!.schema).toEqual({ $ref: "#/components/schemas/tekton.results.v1alpha2.Result" });
});

test("schemas come from the message descriptors: proto names, JSON types, output-only and deprecated marks", () => {
  const rec = doc.components.schemas["tekton.results.v1alpha2.Record"] as { properties: Record<string, Record<string, unknown>> };
  expect(Object.keys(rec.properties)).toEqual(["name", "id", "uid", "data", "etag", "created_time", "create_time", "updated_time", "update_time"]);
  expect(rec.properties.create_time).toMatchObject({ type: "string", format: "date-time", readOnly: true });
  expect(rec.properties.id).toMatchObject({ deprecated: true, readOnly: true });
  const any = doc.components.schemas["tekton.results.v1alpha2.Any"] as { properties: Record<string, Record<string, unknown>> };
  expect(any.properties.value).toMatchObject({ type: "string", format: "byte" });
  const sum = doc.components.schemas["tekton.results.v1alpha2.RecordSummary"] as { properties: Record<string, Record<string, unknown>> };
  expect(sum.properties.status).toMatchObject({ enum: ["UNKNOWN", "SUCCESS", "FAILURE", "TIMEOUT", "CANCELLED"] });
  expect(doc.components.schemas["google.rpc.Status"]).toBeDefined();
  // Every $ref resolves.
  const refs = JSON.stringify(doc).match(/#\/components\/schemas\/[\w.]+/g) ?? [];
  for (const r of refs) expect(doc.components.schemas[r.split("/").pop()!]).toBeDefined();
});

test("the API page lists every route and message, escaped", () => {
  const html = apiPage(doc);
  expect(html.startsWith("<!doctype html>")).toBe(true);
  for (const r of API_ROUTES) expect(html).toContain(`id="${r.method.name}"`);
  expect(html).toContain('id="tekton.results.v1alpha2.Record"');
  expect(html).not.toContain("<script");
});
