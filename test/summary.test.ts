// GetRecordListSummary over gRPC (spec §3.8, §13.7) on a real server.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Code, grpcError } from "./support/grpc-client.ts";
import { startTestServer, type TestServer } from "./support/server.ts";
import { json, uniqueParent } from "./support/wire.ts";

let s: TestServer;
let ns1: string;
let ns2: string;

const run = (reason: string, start: string | null, end: string | null, pipeline: string) => ({
  apiVersion: "tekton.dev/v1",
  kind: "PipelineRun",
  metadata: { name: "x", namespace: "n", creationTimestamp: start ?? "2024-01-03T00:00:00Z", labels: { "tekton.dev/pipeline": pipeline } },
  status: { conditions: [{ type: "Succeeded", status: "x", reason }], ...(start ? { startTime: start } : {}), ...(end ? { completionTime: end } : {}) },
});

beforeAll(async () => {
  s = await startTestServer();
  ns1 = uniqueParent("sum");
  ns2 = uniqueParent("sum");
  const runs: Array<[string, ReturnType<typeof run>]> = [
    // Monday 2024-01-01 … Sunday 2024-01-07 are one week; 2024-01-08 starts the next.
    [ns1, run("Succeeded", "2024-01-01T10:00:00Z", "2024-01-01T10:01:00Z", "build")],
    [ns1, run("Completed", "2024-01-01T11:00:00Z", "2024-01-01T11:03:00Z", "build")],
    [ns1, run("Failed", "2024-01-07T23:00:00Z", "2024-01-07T23:00:30Z", "test")],
    [ns1, run("Running", "2024-01-08T00:30:00Z", null, "test")],
    [ns2, run("Cancelled", "2024-01-02T09:00:00Z", "2024-01-03T10:00:00.5Z", "build")],
    [ns2, run("PipelineRunTimeout", "2024-02-01T00:00:00Z", "2024-02-01T01:00:00Z", "deploy")],
  ];
  let i = 0;
  for (const [ns, doc] of runs) {
    const res = await s.client.createResult({ parent: ns, result: { name: `${ns}/results/r${i}` } });
    await s.client.createRecord({ parent: res.name, record: { name: `${res.name}/records/x`, data: { type: "tekton.dev/v1.PipelineRun", value: json(doc) } } });
    i++;
  }
});
afterAll(() => s.close());

const summary = async (req: { parent: string; summary?: string; filter?: string; groupBy?: string; orderBy?: string }) =>
  (await s.client.getRecordListSummary(req)).summary;

describe("GetRecordListSummary", () => {
  test("every aggregation over one namespace, numbers as numbers, durations as interval text", async () => {
    const [row] = await summary({
      parent: `${ns1}/results/-`,
      summary: "total,succeeded,failed,cancelled,running,others,avg_duration,max_duration,min_duration,total_duration,last_runtime",
    });
    expect(row).toEqual({
      total: 4,
      succeeded: 2,
      failed: 1,
      cancelled: 0,
      running: 1,
      others: 0,
      avg_duration: "00:01:30", // (60 + 180 + 30) / 3 s; the running one has no completion
      max_duration: "00:03:00",
      min_duration: "00:00:30",
      total_duration: "00:04:30",
      last_runtime: Date.UTC(2024, 0, 8, 0, 30) / 1000,
    });
  });

  test("an empty summary means total (upstream rejects it); days and fractions are printed as Postgres does", async () => {
    expect(await summary({ parent: "-/results/-", filter: `parent == "${ns2}"` })).toEqual([{ total: 2 }]);
    const [row] = await summary({ parent: `${ns2}/results/-`, summary: "others,max_duration", filter: 'data.metadata.labels["tekton.dev/pipeline"] == "build"' });
    expect(row).toEqual({ others: 0, max_duration: "1 day 01:00:00.5" });
  });

  test("group_by namespace and pipeline, ordered by an aggregate", async () => {
    const byNs = await summary({ parent: "-/results/-", summary: "total", groupBy: "pipeline", orderBy: "total DESC", filter: `parent == "${ns1}" || parent == "${ns2}"` });
    expect(byNs).toEqual([
      { total: 3, group_value: "n/build" },
      { total: 2, group_value: "n/test" },
      { total: 1, group_value: "n/deploy" },
    ]);
    const ns = await summary({ parent: `${ns1}/results/-`, summary: "total,failed", groupBy: "namespace" });
    expect(ns).toEqual([{ total: 4, failed: 1, group_value: "n" }]);
  });

  test("time buckets: weeks start on Monday, months and days in UTC", async () => {
    const weeks = await summary({ parent: `${ns1}/results/-`, groupBy: "week startTime" });
    expect(weeks).toEqual([
      { total: 3, group_value: Date.UTC(2024, 0, 1) / 1000 },
      { total: 1, group_value: Date.UTC(2024, 0, 8) / 1000 },
    ]);
    const months = await summary({ parent: `${ns2}/results/-`, groupBy: "month completionTime" });
    expect(months).toEqual([
      { total: 1, group_value: Date.UTC(2024, 0, 1) / 1000 },
      { total: 1, group_value: Date.UTC(2024, 1, 1) / 1000 },
    ]);
    const days = await summary({ parent: `${ns1}/results/-`, groupBy: "day", summary: "total,succeeded" });
    expect(days.map((d) => d.group_value)).toEqual([Date.UTC(2024, 0, 1) / 1000, Date.UTC(2024, 0, 7) / 1000, Date.UTC(2024, 0, 8) / 1000]);
  });

  test("bad requests are INVALID_ARGUMENT naming what is wrong", async () => {
    const cases: Array<[Record<string, string>, string]> = [
      [{ parent: "" }, "parent"],
      [{ parent: "unknown" }, "parent"],
      [{ parent: "-/results/-", summary: "total,bogus" }, "invalid aggregate query: bogus"],
      [{ parent: "-/results/-", summary: " total" }, "invalid aggregate query"],
      [{ parent: "-/results/-", groupBy: "fortnight" }, "group_by does not recognize fortnight"],
      [{ parent: "-/results/-", groupBy: "day creationTime" }, "group_by does not recognize creationTime"],
      [{ parent: "-/results/-", groupBy: "namespace", orderBy: "ASC total" }, "order_by"],
      [{ parent: "-/results/-", groupBy: "namespace", orderBy: "failed DESC" }, "must be one of summary"],
      [{ parent: "-/results/-", filter: "data_type ==" }, "filter"],
    ];
    for (const [req, text] of cases) {
      const e = await grpcError(s.client.getRecordListSummary(req));
      expect(e.code).toBe(Code.INVALID_ARGUMENT);
      expect(e.details).toContain(text);
    }
    // order_by without group_by is ignored, as upstream does.
    expect(await summary({ parent: `${ns1}/results/-`, orderBy: "nonsense" })).toEqual([{ total: 4 }]);
  });
});
