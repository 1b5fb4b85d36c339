/**
 * SQL for keyset-paginated lists. Only fixed column names from ORDER_COLUMNS
 * and placeholders are ever put into the text; every value is bound.
 *
 * NULL sort keys (a result without summary times) are handled explicitly:
 * SQLite sorts NULL first ascending and last descending, and the keyset
 * condition continues across the NULL block instead of skipping or repeating
 * rows (upstream's tokens store the epoch for NULL and lose rows).
 */
import type { ListQuery } from "../core/store.ts";
import type { OrderField } from "../core/types.ts";

const ORDER_COLUMNS: Record<OrderField, string> = {
  create_time: "create_time",
  update_time: "update_time",
  "summary.start_time": "summary_start_time",
  "summary.end_time": "summary_end_time",
};

export interface BuiltQuery {
  sql: string;
  params: Array<string | number>;
}

/** Builds `SELECT <select> FROM <table> WHERE … ORDER BY … LIMIT ?`. */
export function buildListQuery(table: "results" | "records", select: string, q: ListQuery): BuiltQuery {
  const where: string[] = [];
  const params: Array<string | number> = [];
  if (table === "records" && q.result != null) {
    // One result's records: through the result's rowid and records_result_uid,
    // so listing 12 records never walks a whole namespace.
    if (q.parent !== null) {
      where.push("result_rid = (SELECT rid FROM results WHERE parent = ? AND name = ?)");
      params.push(q.parent, q.result);
    } else {
      where.push("result_rid IN (SELECT rid FROM results WHERE name = ?)");
      params.push(q.result);
    }
  } else if (q.parent !== null) {
    where.push("parent = ?");
    params.push(q.parent);
  }
  const col = q.order ? ORDER_COLUMNS[q.order.field] : null;
  const desc = q.order?.desc ?? false;
  const dir = desc ? "DESC" : "ASC";
  if (q.after) {
    const { value, uid } = q.after;
    if (col === null) {
      where.push("uid > ?");
      params.push(uid);
    } else if (!desc) {
      if (value === null) {
        where.push(`((${col} IS NULL AND uid > ?) OR ${col} IS NOT NULL)`);
        params.push(uid);
      } else {
        where.push(`(${col}, uid) > (?, ?)`);
        params.push(value, uid);
      }
    } else if (value === null) {
      where.push(`(${col} IS NULL AND uid < ?)`);
      params.push(uid);
    } else {
      where.push(`((${col}, uid) < (?, ?) OR ${col} IS NULL)`);
      params.push(value, uid);
    }
  }
  const orderBy = col === null ? "uid ASC" : `${col} ${dir}, uid ${dir}`;
  const sql =
    `SELECT ${select} FROM ${table}` +
    (where.length ? ` WHERE ${where.join(" AND ")}` : "") +
    ` ORDER BY ${orderBy} LIMIT ?`;
  params.push(q.limit);
  return { sql, params };
}
