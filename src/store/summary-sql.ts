/**
 * SQL for GetRecordListSummary. Reasons and times come from the indexed
 * generated columns (g_reason, g_start_time, g_completion_time), so an
 * aggregation reads index entries and the rows it must; every value from the
 * request is bound. Durations are computed in microseconds and formatted by
 * the core; time buckets are Unix seconds (weeks start on Monday, UTC).
 */
import type { Aggregate, GroupBy, SummaryQuery, TimeUnit } from "../core/summary.ts";
import type { ListQuery } from "../core/store.ts";
import { Params } from "./filter/params.ts";
import { baseConditions } from "./list-sql.ts";
import type { TranslateOptions } from "./filter/translate.ts";

const DONE = "('Succeeded','Completed','Failed','Cancelled','Running')";
const DURATION = "(records.g_completion_time - records.g_start_time)";

const AGG_SQL: Record<Aggregate, string> = {
  total: "count(*)",
  succeeded: "count(CASE WHEN records.g_reason IN ('Succeeded','Completed') THEN 1 END)",
  failed: "count(CASE WHEN records.g_reason = 'Failed' THEN 1 END)",
  cancelled: "count(CASE WHEN records.g_reason = 'Cancelled' THEN 1 END)",
  running: "count(CASE WHEN records.g_reason = 'Running' THEN 1 END)",
  others: `count(CASE WHEN records.g_reason NOT IN ${DONE} THEN 1 END)`,
  avg_duration: `avg(${DURATION})`,
  max_duration: `max(${DURATION})`,
  min_duration: `min(${DURATION})`,
  total_duration: `sum(${DURATION})`,
  last_runtime: "max(records.g_start_time) / 1000000",
};

function seconds(field: "creationTimestamp" | "startTime" | "completionTime"): string {
  switch (field) {
    case "startTime":
      return "(records.g_start_time / 1000000)";
    case "completionTime":
      return "(records.g_completion_time / 1000000)";
    default:
      return `CAST(unixepoch(records.data ->> '$."metadata"."creationTimestamp"') AS INTEGER)`;
  }
}

function groupSql(g: GroupBy): string {
  if (g.kind === "namespace") return "records.g_namespace";
  if (g.kind === "pipeline") return "(coalesce(records.g_namespace, '') || '/' || coalesce(records.g_pipeline, ''))";
  if (g.kind === "repository") {
    return `(coalesce(records.g_namespace, '') || '/' || coalesce(records.data ->> '$."metadata"."annotations"."pipelinesascode.tekton.dev/repository"', ''))`;
  }
  if (g.kind === "time") return timeBucket(g.unit, seconds(g.field));
  throw new Error(`unknown group ${JSON.stringify(g)}`);
}

function timeBucket(unit: TimeUnit, s: string): string {
  switch (unit) {
    case "minute":
      return `((${s} / 60) * 60)`;
    case "hour":
      return `((${s} / 3600) * 3600)`;
    case "day":
      return `((${s} / 86400) * 86400)`;
    case "week":
      // 1970-01-01 was a Thursday: shift by 3 days so weeks start on Monday.
      return `((((${s} / 86400) + 3) / 7) * 7 - 3) * 86400`;
    case "month":
      return `unixepoch(strftime('%Y-%m-01', ${s}, 'unixepoch'))`;
    case "year":
      return `unixepoch(strftime('%Y-01-01', ${s}, 'unixepoch'))`;
  }
}

export function buildSummaryQuery(
  where: Pick<ListQuery, "parent" | "parents" | "result" | "filter">,
  s: SummaryQuery,
  opts: TranslateOptions = {},
): { sql: string; params: Params } {
  const p = new Params();
  const conds = baseConditions("records", where, p, opts);
  const cols = s.aggregates.map((a) => `${AGG_SQL[a]} AS ${a}`);
  if (s.groupBy) cols.push(`${groupSql(s.groupBy)} AS group_value`);
  // records_summary holds every column the aggregates and groups read, so
  // the summary reads index entries instead of 12 KB documents (16x faster
  // at 100k). SQLite's cost model does not count an index of VIRTUAL columns
  // as covering and would pick a narrower index plus a document read per
  // row, so the choice is made here. Within one result, its own index is
  // narrower still.
  const from = where.result == null ? "records INDEXED BY records_summary" : "records";
  let sql = `SELECT ${cols.join(", ")} FROM ${from}` + (conds.length ? ` WHERE ${conds.join(" AND ")}` : "");
  if (s.groupBy) {
    sql += " GROUP BY group_value";
    sql += s.orderBy ? ` ORDER BY ${s.orderBy.field} ${s.orderBy.desc ? "DESC" : "ASC"}, group_value` : " ORDER BY group_value";
  }
  return { sql, params: p };
}
