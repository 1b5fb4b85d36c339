import { expect, test } from "bun:test";
import { checkClusterNames, parseDuration, resolveClusters, WatchConfigError } from "./config.ts";

const file = (doc: unknown) => ({ path: "/etc/w.yaml", doc });

test("flags: one cluster per --context, or the current context when only --kubeconfig is given", () => {
  expect(resolveClusters({ kubeconfig: "/k", contexts: ["a", "b"], file: null }).map((c) => [c.name, c.kubeconfig, c.context])).toEqual([
    ["a", "/k", "a"],
    ["b", "/k", "b"],
  ]);
  const cur = resolveClusters({ kubeconfig: "/k", contexts: [], file: null });
  expect(cur.map((c) => [c.name, c.context])).toEqual([["", null]]); // named after the current context at start
  expect(resolveClusters({ kubeconfig: null, contexts: [], file: null })).toEqual([]);
});

test("the file: clusters with their own settings; defaults apply to every cluster, flags' too", () => {
  const cs = resolveClusters({
    kubeconfig: "/k",
    contexts: ["flagged"],
    file: file({
      defaults: { parent: "{cluster}-{namespace}", writeAnnotations: true, watch: { idleTimeout: "90s" } },
      clusters: [
        { name: "prod-eu", kubeconfig: "/p", context: "eu", namespaces: ["ci"], labelSelector: "a=b", cleanup: { gracePeriod: "1h30m", checkOwner: false } },
        { context: "us", storeEvents: true, finalizers: true, watch: { pageSize: 100 } },
      ],
    }),
  });
  expect(cs.map((c) => c.name)).toEqual(["flagged", "prod-eu", "us"]);
  const [flagged, eu, us] = cs as [(typeof cs)[0], (typeof cs)[0], (typeof cs)[0]];
  expect(flagged).toMatchObject({ parent: "{cluster}-{namespace}", writeAnnotations: true });
  expect(flagged.tuning.idleTimeoutMs).toBe(90_000);
  expect(eu).toMatchObject({ kubeconfig: "/p", context: "eu", namespaces: ["ci"], labelSelector: "a=b", cleanup: { gracePeriodMs: 5_400_000, checkOwner: false } });
  expect(us).toMatchObject({ kubeconfig: "/k", storeEvents: true, finalizers: true });
  expect(us.tuning.pageSize).toBe(100);
  expect(us.tuning.idleTimeoutMs).toBe(90_000);
});

test("mistakes are refused with the path of the setting", () => {
  const bad = (doc: unknown) => () => resolveClusters({ kubeconfig: null, contexts: [], file: file(doc) });
  expect(bad({ clusters: [{ context: "a", namespace: ["x"] }] })).toThrow(/watch config \/etc\/w.yaml: clusters\[0\].namespace: unknown setting/);
  expect(bad({ clusters: [{ context: "a", parent: "{ns}" }] })).toThrow(/clusters\[0\].parent: unknown placeholder \{ns\}/);
  expect(bad({ clusters: [{ context: "a", namespaces: ["Bad_NS"] }] })).toThrow(/clusters\[0\].namespaces\[0\]: "Bad_NS" is not a namespace name/);
  expect(bad({ clusters: [{ context: "a", cleanup: { gracePeriod: "soon" } }] })).toThrow(/clusters\[0\].cleanup.gracePeriod: "soon" is not a duration/);
  expect(bad({ clusters: [{ context: "a", watch: { pageSize: 0 } }] })).toThrow(/clusters\[0\].watch.pageSize: must be an integer from 1 to 10000/);
  expect(bad({ clusters: [{ context: "a", finalizers: "yes" }] })).toThrow(/clusters\[0\].finalizers: must be true or false/);
  expect(bad({ defaults: { context: "x" } })).toThrow(/defaults.context: belongs to a cluster/);
  expect(bad({ cluster: [] })).toThrow(/unknown setting cluster \(known: clusters, defaults\)/);
  expect(bad({ clusters: {} })).toThrow(/clusters: must be a list/);
  expect(() => checkClusterNames(resolveClusters({ kubeconfig: "/k", contexts: ["a", "a"], file: null }))).toThrow(/cluster "a" is listed twice/);
  expect(bad({ clusters: [{ context: "a", finalizers: "yes" }] })).toThrow(WatchConfigError);
});

test("durations", () => {
  expect(parseDuration("10m", "x")).toBe(600_000);
  expect(parseDuration("1h30m", "x")).toBe(5_400_000);
  expect(parseDuration("250ms", "x")).toBe(250);
  expect(parseDuration("0", "x")).toBe(0);
  expect(parseDuration("-1s", "x")).toBe(-1000);
  expect(parseDuration(30, "x")).toBe(30_000);
  expect(() => parseDuration("1d", "x")).toThrow(WatchConfigError);
});
