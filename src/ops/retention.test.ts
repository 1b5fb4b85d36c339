import { afterAll, beforeAll, expect, test } from "bun:test";
import { RecordSummary_Status as S } from "../gen/resources_pb.ts";
import { startTestServer, type TestServer } from "../../test/support/server.ts";
import type { Config, RetentionRule } from "../config/config.ts";
import { ConfigError } from "../config/errors.ts";
import { compilePolicy, expiredResults } from "./retention.ts";

const DAY = 86_400_000;
const now = Date.now();
const ts = (ms: number) => ({ seconds: BigInt(Math.floor(ms / 1000)), nanos: 0 });
const rule = (r: Partial<RetentionRule> & { name: string; maxAgeMs: number | null }): RetentionRule => ({ namespaces: [], pipelines: [], statuses: [], filter: null, ...r });

const policy: Pick<Config, "retentionRules" | "retentionMaxAgeMs"> = {
  retentionMaxAgeMs: 30 * DAY,
  retentionRules: [
    rule({ name: "prs", namespaces: ["ci"], statuses: ["success"], maxAgeMs: 7 * DAY }),
    rule({ name: "keep", filter: 'annotations["repo"] == "keep"', maxAgeMs: null }),
    rule({ name: "nightly", pipelines: ["nightly"], maxAgeMs: DAY }),
  ],
};

let s: TestServer;

async function result(parent: string, name: string, opts: { status?: S; endDaysAgo?: number; annotations?: Record<string, string>; completionDaysAgo?: number | "running" }) {
  await s.client.createResult({
    parent,
    result: {
      name: `${parent}/results/${name}`,
      annotations: opts.annotations ?? {},
      ...(opts.endDaysAgo !== undefined
        ? { summary: { record: `${parent}/results/${name}/records/${name}`, type: "tekton.dev/v1.PipelineRun", status: opts.status ?? S.UNKNOWN, endTime: ts(now - opts.endDaysAgo * DAY) } }
        : {}),
    },
  });
  const status = opts.completionDaysAgo === undefined ? {} : opts.completionDaysAgo === "running" ? { startTime: new Date(now - 90 * DAY).toISOString() } : { completionTime: new Date(now - opts.completionDaysAgo * DAY).toISOString() };
  const doc = { kind: "TaskRun", metadata: { name }, status };
  await s.client.createRecord({
    parent: `${parent}/results/${name}`,
    record: { name: `${parent}/results/${name}/records/${name}`, data: { type: "tekton.dev/v1.TaskRun", value: new TextEncoder().encode(JSON.stringify(doc)) } },
  });
}

beforeAll(async () => {
  s = await startTestServer({ config: { ...policy } });
  await result("ci", "old-success", { status: S.SUCCESS, endDaysAgo: 10, annotations: { "tekton.dev/pipeline": "build" } });
  await result("ci", "recent-success", { status: S.SUCCESS, endDaysAgo: 1 });
  await result("ci", "old-failure", { status: S.FAILURE, endDaysAgo: 10 });
  await result("ci", "very-old-failure", { status: S.FAILURE, endDaysAgo: 40 });
  // First match wins: "prs" decides before "keep" would keep it.
  await result("ci", "keep-but-pr", { status: S.SUCCESS, endDaysAgo: 10, annotations: { repo: "keep" } });
  await result("prod", "kept-forever", { status: S.FAILURE, endDaysAgo: 400, annotations: { repo: "keep" } });
  await result("prod", "nightly-2d", { status: S.SUCCESS, endDaysAgo: 2, annotations: { "tekton.dev/pipeline": "nightly" } });
  await result("prod", "nightly-12h", { status: S.SUCCESS, endDaysAgo: 0.5, annotations: { "tekton.dev/pipeline": "nightly" } });
  // No summary: the records' completionTime is the run's completion; still running: never pruned.
  await result("prod", "taskrun-only-old", { completionDaysAgo: 40 });
  await result("prod", "taskrun-only-new", { completionDaysAgo: 3 });
  await result("prod", "running", { completionDaysAgo: "running" });
});

afterAll(() => s.close());

const EXPECTED = ["ci/results/very-old-failure", "ci/results/keep-but-pr", "ci/results/old-success", "prod/results/taskrun-only-old", "prod/results/nightly-2d"];

test("the policy selects by completion time, first matching rule first, the default for the rest", () => {
  const due = expiredResults(s.app.db, compilePolicy(policy), now);
  expect(due.map((d) => d.name).sort()).toEqual([...EXPECTED].sort());
  // Oldest first, each with the rule that decided.
  expect(due.map((d) => d.completedMs)).toEqual([...due.map((d) => d.completedMs)].sort((a, b) => a - b));
  expect(Object.fromEntries(due.map((d) => [d.name, d.rule]))).toEqual({
    "ci/results/very-old-failure": "maxAge",
    "ci/results/keep-but-pr": "prs",
    "ci/results/old-success": "prs",
    "prod/results/taskrun-only-old": "maxAge",
    "prod/results/nightly-2d": "nightly",
  });
});

test("keeping forever by default and no rules selects nothing; a short default selects everything completed", () => {
  expect(expiredResults(s.app.db, compilePolicy({ retentionMaxAgeMs: null, retentionRules: [] }), now)).toEqual([]);
  const all = expiredResults(s.app.db, compilePolicy({ retentionMaxAgeMs: 3_600_000, retentionRules: [] }), now).map((d) => d.name);
  expect(all).toHaveLength(10);
  expect(all).not.toContain("prod/results/running");
});

test("a CEL filter that does not compile is a config error naming the rule", () => {
  expect(() => compilePolicy({ retentionMaxAgeMs: null, retentionRules: [rule({ name: "x", filter: "annotations[", maxAgeMs: DAY })] })).toThrow(ConfigError);
  expect(() => compilePolicy({ retentionMaxAgeMs: null, retentionRules: [rule({ name: "x", filter: "nosuchfield == 1", maxAgeMs: DAY })] })).toThrow(/retention.rules\[0\].filter/);
});

test("a pass of the scheduled job deletes exactly the selected results and their records", async () => {
  await s.app.retention.runOnce();
  // (The scheduled first pass may have run meanwhile on a slow machine: count both.)
  expect(s.app.retention.deleted).toBe(EXPECTED.length);
  const left = (await s.client.listResults({ parent: "-" })).results.map((r) => r.name).sort();
  expect(left).toEqual(
    ["ci/results/recent-success", "ci/results/old-failure", "prod/results/kept-forever", "prod/results/nightly-12h", "prod/results/taskrun-only-new", "prod/results/running"].sort(),
  );
  const records = (await s.client.listRecords({ parent: "-/results/-" })).records.map((r) => r.name);
  expect(records).toHaveLength(6);
  for (const gone of EXPECTED) expect(records.some((r) => r.startsWith(gone + "/"))).toBe(false);
  expect(await s.app.retention.runOnce()).toBe(0);
  expect(s.app.metrics.render()).toContain(`hindsight_retention_deleted_results_total ${EXPECTED.length}`);
});
