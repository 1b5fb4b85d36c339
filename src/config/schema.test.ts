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

test("every setting's file key is a key the file schema accepts", async () => {
  const { settings } = await import("./config.ts");
  for (const s of settings) {
    const doc: Record<string, unknown> = {};
    const parts = s.file.split(".");
    let at = doc;
    for (const p of parts.slice(0, -1)) at = (at[p] = {}) as Record<string, unknown>;
    at[parts[parts.length - 1]!] = s.multiple ? [] : "x";
    // A value of the wrong type is fine here; an unknown key is not.
    expect(checkShape(doc).filter((i) => i.message.startsWith("unknown key")).map((i) => i.path)).toEqual([]);
  }
});
