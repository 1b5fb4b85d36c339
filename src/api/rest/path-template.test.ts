import { expect, test } from "bun:test";
import { bindVariables, parsePathTemplate } from "./path-template.ts";

test("variables spanning several segments get one parameter per *, named after the literal before it", () => {
  const t = parsePathTemplate("/apis/results.tekton.dev/v1alpha2/parents/{name=*/results/*/records/*}");
  expect(t.routerPath).toBe("/apis/results.tekton.dev/v1alpha2/parents/:parent/results/:result/records/:record");
  expect(t.openApiPath).toBe("/apis/results.tekton.dev/v1alpha2/parents/{parent}/results/{result}/records/{record}");
  expect(bindVariables(t, { parent: "ns", result: "r", record: "x" })).toEqual([{ fieldPath: ["name"], value: "ns/results/r/records/x" }]);
});

test("{field} is one segment; nested field paths are kept", () => {
  const a = parsePathTemplate("/v1/parents/{parent}/results");
  expect(a.routerPath).toBe("/v1/parents/:parent/results");
  const b = parsePathTemplate("/v1/parents/{result.name=*/results/*}");
  expect(bindVariables(b, { parent: "p", result: "r" })).toEqual([{ fieldPath: ["result", "name"], value: "p/results/r" }]);
});

test("unsupported template features are refused", () => {
  expect(() => parsePathTemplate("/v1/{name=**}")).toThrow(/\*\*/);
  expect(() => parsePathTemplate("/v1/things:cancel")).toThrow(/verb/);
  expect(() => parsePathTemplate("v1/x")).toThrow(/start with/);
  expect(() => parsePathTemplate("/v1/*/x")).toThrow(/bare/);
});
