import { expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TSchema } from "@sinclair/typebox";
import { defaultConfig, loadConfig } from "./config.ts";
import { EXAMPLE_CONFIG } from "./example.ts";
import { ConfigFileSchema } from "./schema.ts";

function keyPaths(s: TSchema, prefix = ""): string[] {
  if (s.type !== "object" || !s.properties) return [];
  return Object.entries(s.properties as Record<string, TSchema>).flatMap(([k, v]) => [prefix + k, ...keyPaths(v, `${prefix}${k}.`)]);
}

test("the example parses to exactly the defaults", () => {
  const dir = mkdtempSync(join(tmpdir(), "hindsight-example-"));
  try {
    const file = join(dir, "config.yaml");
    writeFileSync(file, EXAMPLE_CONFIG);
    expect(loadConfig({ config: file }, {})).toEqual({ ...defaultConfig, configFile: file });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the example mentions every key of the schema, and every rule key", () => {
  const keys = keyPaths(ConfigFileSchema);
  expect(keys.length).toBeGreaterThan(15);
  for (const k of keys) {
    const leaf = k.split(".").pop()!;
    expect({ key: k, mentioned: new RegExp(`^[ #]*${leaf}:`, "m").test(EXAMPLE_CONFIG) }).toEqual({ key: k, mentioned: true });
  }
  for (const k of ["name", "namespaces", "pipelines", "statuses", "filter", "maxAge"]) expect(EXAMPLE_CONFIG).toMatch(new RegExp(`#\\s+-? ?${k}:`));
});
