import { expect, test } from "bun:test";
import { Results } from "../gen/api_pb.ts";
import { accessOf, hasAccessRule } from "./access.ts";

test("every Results method has a rule", () => {
  for (const m of Results.methods) expect(hasAccessRule(m.localName)).toBe(true);
});

test("action and parent come from the request alone", () => {
  expect(accessOf("getRecord", { name: "ns/results/r/records/x" })).toEqual({
    action: "read",
    parent: "ns",
    list: false,
    rbac: [{ resource: "records", verb: "get" }],
    resource: "ns/results/r/records/x",
  });
  expect(accessOf("createResult", { parent: "ns" })).toMatchObject({ action: "write", parent: "ns" });
  expect(accessOf("deleteResult", { name: "ns/results/r" })).toMatchObject({ action: "delete", parent: "ns" });
  expect(accessOf("updateRecord", { record: { name: "ns/results/r/records/x" } })).toMatchObject({ action: "write", parent: "ns" });
  expect(accessOf("listRecords", { parent: " -/results/- " })).toMatchObject({ action: "read", parent: "-", list: true });
  expect(accessOf("getRecordListSummary", { parent: "ns/results/-" })).toMatchObject({ parent: "ns", list: true });
});

test("UpdateResult is checked on the name the service will use: name, else result.name", () => {
  expect(accessOf("updateResult", { name: "a/results/r", result: { name: "b/results/r" } }).parent).toBe("a");
  expect(accessOf("updateResult", { name: "", result: { name: "b/results/r" } }).parent).toBe("b");
});

test("a missing name is checked as the empty parent (no scoped token matches it)", () => {
  expect(accessOf("getResult", {}).parent).toBe("");
});

test("each rule names upstream's RBAC resource and verb (spec §6.3)", () => {
  const table: Record<string, string> = {
    createResult: "results/create",
    getResult: "results/get",
    updateResult: "results/update",
    deleteResult: "results/delete",
    listResults: "results/list",
    createRecord: "records/create",
    getRecord: "records/get",
    updateRecord: "records/update",
    deleteRecord: "records/delete",
    listRecords: "records/list",
    getRecordListSummary: "records/get",
    getLog: "logs/get",
    listLogs: "logs/list",
    updateLog: "logs/update records/update",
    deleteLog: "logs/delete",
    containerLog: "logs/get",
  };
  for (const [method, want] of Object.entries(table)) {
    expect({ method, rbac: accessOf(method, {}).rbac.map((r) => `${r.resource}/${r.verb}`).join(" ") }).toEqual({ method, rbac: want });
  }
});
