import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resolveAllClusters } from "./clusters.ts";
import { loadConfig } from "./config.ts";

const dir = mkdtempSync(join(tmpdir(), "hindsight-clusters-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const load = (flags: Record<string, string | string[]>) => loadConfig(flags, {}, { defaultPath: null });

test("clusters in the config file, with clusterDefaults applied to them and to --context clusters", async () => {
  const cfg = load({
    config: file("c.yaml", "kubeconfig: /k\nclusterDefaults: { parent: '{cluster}-{namespace}' }\nclusters:\n  - { name: prod, context: prod, namespaces: [ci] }\n"),
    context: ["staging"],
  });
  const specs = await resolveAllClusters(cfg);
  expect(specs.map((c) => [c.name, c.kubeconfig, c.context, c.parent, c.namespaces])).toEqual([
    ["staging", "/k", "staging", "{cluster}-{namespace}", []],
    ["prod", "/k", "prod", "{cluster}-{namespace}", ["ci"]],
  ]);
});

test("a watch config file still works alone, and adds its clusters to the config file's", async () => {
  const watch = file("w.yaml", "defaults: { storeEvents: true }\nclusters:\n  - { name: edge, kubeconfig: /e }\n");
  const alone = await resolveAllClusters(load({ "watch-config": watch, context: ["a"], kubeconfig: "/k" }));
  expect(alone.map((c) => [c.name, c.storeEvents])).toEqual([
    ["a", true],
    ["edge", true],
  ]);
  const both = await resolveAllClusters(load({ config: file("c2.yaml", "clusters: [ { name: prod, kubeconfig: /p } ]\n"), "watch-config": watch }));
  expect(both.map((c) => [c.name, c.kubeconfig, c.storeEvents])).toEqual([
    ["prod", "/p", false],
    ["edge", "/e", true],
  ]);
  expect(await resolveAllClusters(load({}))).toEqual([]);
});

test("a bad cluster entry in the config file is reported against the config file and its key", async () => {
  const path = file("bad.yaml", "clusters:\n  - { name: x, namespaces: [Not_A_Namespace] }\n");
  await expect(resolveAllClusters(load({ config: path }))).rejects.toThrow(`config file ${path}: clusters[0].namespaces[0]: "Not_A_Namespace" is not a namespace name`);
  const path2 = file("bad2.yaml", "clusterDefaults: { colour: blue }\nclusters: [ { name: x } ]\n");
  await expect(resolveAllClusters(load({ config: path2 }))).rejects.toThrow(`config file ${path2}: clusterDefaults.colour: unknown setting`);
});
