import { expect, test } from "bun:test";
import { checkShape, dottedPath } from "./schema.ts";

test("JSON pointers become the dotted keys an operator writes", () => {
  expect(dottedPath("/retention/rules/0/maxAge")).toBe("retention.rules[0].maxAge");
  expect(dottedPath("/grpc/listen")).toBe("grpc.listen");
  expect(dottedPath("")).toBe("(top level)");
});

test("shape problems: one per key, the outermost when a section has the wrong type", () => {
  expect(checkShape({})).toEqual([]);
  expect(checkShape(null)).toEqual([]);
  expect(checkShape({ grpc: "x" })).toEqual([{ path: "grpc", message: '"x" is not allowed (Expected object)' }]);
  const byPath = <T extends { path: string }>(xs: T[]) => [...xs].sort((a, b) => a.path.localeCompare(b.path));
  expect(byPath(checkShape({ readers: 100, log: { format: "xml", colour: true } }))).toEqual([
    { path: "log.colour", message: "unknown key (known keys here: level, format)" },
    { path: "log.format", message: '"xml" is not allowed: expected json or logfmt' },
    { path: "readers", message: "100 is not allowed: expected a whole number from 1 to 64" },
  ]);
});
