/**
 * SQL for keyset-paginated lists. Only fixed column names and numbered
 * placeholders are ever put into the text; every value is bound.
 *
 * Ordering by a column that can be NULL (a result's summary times) is done
 * in two index walks, the NULL block and the rest, so that the keyset
 * condition stays a plain range the planner can seek to: SQLite sorts NULL
 * first ascending and last descending, and a page that ends in one block
 * continues exactly where it stopped (upstream's tokens hold the epoch for
 * NULL and lose or repeat rows there).
 */
import type { ListQuery } from "../core/store.ts";
import type { OrderField } from "../core/types.ts";
import { Params } from "./filter/params.ts";
import { translateFilter, type TranslateOptions } from "./filter/translate.ts";

const ORDER_COLUMNS: Record<OrderField, { col: string; nullable: boolean }> = {
  create_time: { col: "create_time", nullable: false },
  update_time: { col: "update_time", nullable: false },
  "summary.start_time": { col: "summary_start_time", nullable: true },
  "summary.end_time": { col: "summary_end_time", nullable: true },
  "data.status.startTime": { col: "g_start_time", nullable: true },
  "data.status.completionTime": { col: "g_completion_time", nullable: true },
};

/** The column a list is ordered by, selected as `sort_key` for the page token. */
export function orderColumn(table: Table, field: OrderField): string {
  return `${table}.${ORDER_COLUMNS[field].col}`;
}

export interface BuiltQuery {
  sql: string;
  params: Params;
}

type Table = "results" | "records";

/** The conditions a list (every segment) and a summary share: parent, result, filter. */
export function baseConditions(table: Table, q: Pick<ListQuery, "parent" | "parents" | "result" | "filter">, p: Params, opts: TranslateOptions = {}): string[] {
  const where: string[] = [];
  if (table === "records" && q.result != null) {
    // One result's records: through the result's rowid and records_result_uid,
    // so listing 12 records never walks a whole namespace.
    if (q.parent !== null) {
      where.push(`records.result_rid = (SELECT rid FROM results WHERE parent = ${p.add(q.parent)} AND name = ${p.add(q.result)})`);
    } else {
      where.push(`records.result_rid IN (SELECT rid FROM results WHERE name = ${p.add(q.result)})`);
    }
  } else if (q.parent !== null) {
    where.push(`${table}.parent = ${p.add(q.parent)}`);
  }
  if (q.parents != null) {
    // A caller limited to some parents listing "-". No globs: nothing is visible.
    where.push(q.parents.length === 0 ? "0" : `(${q.parents.map((g) => `${table}.parent GLOB ${p.add(g)}`).join(" OR ")})`);
  }
  if (q.filter) where.push(translateFilter(q.filter, p, opts).sql);
  return where;
}

function select(table: Table, columns: string, where: string[], orderBy: string, limit: number, p: Params): string {
  return (
    `SELECT ${columns} FROM ${table}` +
    (where.length ? ` WHERE ${where.join(" AND ")}` : "") +
    ` ORDER BY ${orderBy} LIMIT ${p.add(limit)}`
  );
}

/**
 * The queries for one page, to run in order until `limit` rows are found
 * (one query, or two for a nullable order column).
 */
export function buildListQueries(table: Table, columns: string, q: ListQuery, opts: TranslateOptions = {}): BuiltQuery[] {
  const segment = (extra: (p: Params) => string[], orderBy: string): BuiltQuery => {
    const p = new Params();
    const where = [...baseConditions(table, q, p, opts), ...extra(p)];
    return { sql: select(table, columns, where, orderBy, q.limit, p), params: p };
  };
  const t = table;
  if (!q.order) {
    return [segment((p) => (q.after ? [`${t}.uid > ${p.add(q.after.uid)}`] : []), `${t}.uid ASC`)];
  }
  const { col, nullable } = ORDER_COLUMNS[q.order.field];
  const c = `${t}.${col}`;
  const desc = q.order.desc;
  const dir = desc ? "DESC" : "ASC";
  const full = `${c} ${dir}, ${t}.uid ${dir}`;
  const byUid = `${t}.uid ${dir}`;
  const after = q.after;
  if (!after) return [segment(() => [], full)];
  const cmp = desc ? "<" : ">";
  const range = (p: Params) => [`(${c}, ${t}.uid) ${cmp} (${p.add(after.value as number)}, ${p.add(after.uid)})`];
  if (!nullable) return [segment(range, full)];
  if (after.value === null) {
    const inNulls = segment((p) => [`${c} IS NULL`, `${t}.uid ${cmp} ${p.add(after.uid)}`], byUid);
    // Ascending, the non-NULL values come after the NULL block.
    return desc ? [inNulls] : [inNulls, segment(() => [`${c} IS NOT NULL`], full)];
  }
  // Descending, the NULL block comes after the last value.
  return desc ? [segment(range, full), segment(() => [`${c} IS NULL`], byUid)] : [segment(range, full)];
}
