// Summaries read the covering index, not the documents (see summary-sql.ts).
import { expect, test } from "bun:test";
import { compileFilter } from "../core/filter/compile.ts";
import { parseSummaryRequest } from "../core/summary.ts";
import { openDatabase } from "./db.ts";
import { buildSummaryQuery } from "./summary-sql.ts";

const db = openDatabase(":memory:");
const plan = (where: { parent: string | null; result: string | null; filter: string }, groupBy: string) => {
  const q = parseSummaryRequest("total,succeeded,failed,avg_duration,last_runtime", groupBy, "");
  const { sql, params } = buildSummaryQuery({ parent: where.parent, result: where.result, filter: where.filter ? compileFilter("records", where.filter) : null }, q);
  return (db.query(`EXPLAIN QUERY PLAN ${sql}`).all(...(params.values as never[])) as Array<{ detail: string }>).map((r) => r.detail).join(" | ");
};

test("summaries over many results read the covering records_summary index", () => {
  const window = 'data.status.startTime >= timestamp("2024-06-01T00:00:00Z") && data.status.startTime < timestamp("2024-07-01T00:00:00Z")';
  expect(plan({ parent: null, result: null, filter: window }, "day startTime")).toMatch(/USING INDEX records_summary \(g_start_time>\? AND g_start_time<\?\)/);
  expect(plan({ parent: "ns", result: null, filter: 'data_type == "tekton.dev/v1.TaskRun"' }, "namespace")).toMatch(/INDEX records_summary/);
  expect(plan({ parent: null, result: null, filter: "" }, "")).toMatch(/INDEX records_summary/);
});

test("a summary of one result uses that result's own index", () => {
  expect(plan({ parent: "ns", result: "r1", filter: "" }, "")).toMatch(/INDEX records_by_name|INDEX records_result_uid/);
});
