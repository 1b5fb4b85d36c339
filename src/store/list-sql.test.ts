// The list queries: only bound values, and every list shape walks an index
// in the requested order (no full scan, no sort of the table).
import { expect, test } from "bun:test";
import { openDatabase } from "./db.ts";
import { buildListQuery } from "./list-sql.ts";
import type { ListQuery } from "../core/store.ts";

const db = openDatabase(":memory:");

function plan(table: "results" | "records", q: ListQuery): string {
  const { sql, params } = buildListQuery(table, "rid", q);
  return (db.query(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as Array<{ detail: string }>).map((r) => r.detail).join(" | ");
}

const base: ListQuery = { parent: null, result: null, order: null, after: null, limit: 51 };

test("no value ever appears in the SQL text", () => {
  const evil = "x' OR 1=1; --";
  const { sql, params } = buildListQuery("records", "rid", {
    ...base,
    parent: evil,
    result: evil,
    order: { field: "create_time", desc: true },
    after: { value: 5, uid: evil },
  });
  expect(sql).not.toContain(evil);
  expect(params.filter((p) => p === evil)).toHaveLength(3);
});

test("record lists use an index in order, for every parent shape and order", () => {
  const cases: Array<[Partial<ListQuery>, RegExp]> = [
    [{}, /USING (COVERING )?INDEX records_uid/],
    [{ parent: "ns" }, /USING (COVERING )?INDEX records_parent_uid/],
    [{ parent: "ns", result: "r" }, /SEARCH records USING (COVERING )?INDEX records_result_uid \(result_rid=\?\)/],
    [{ order: { field: "create_time", desc: true } }, /USING (COVERING )?INDEX records_create/],
    [{ parent: "ns", order: { field: "create_time", desc: true } }, /USING (COVERING )?INDEX records_parent_create/],
    [{ parent: "ns", order: { field: "create_time", desc: false }, after: { value: 5, uid: "u" } }, /records_parent_create/],
    [{ after: { value: null, uid: "u" } }, /records_uid/],
  ];
  for (const [q, re] of cases) {
    const p = plan("records", { ...base, ...q });
    expect(p).toMatch(re);
    expect(p).not.toMatch(/^SCAN records$|USE TEMP B-TREE FOR ORDER BY/);
  }
  // One result ordered by time: its few records are sorted, found through the result.
  const one = plan("records", { ...base, parent: "ns", result: "r", order: { field: "create_time", desc: true } });
  expect(one).toMatch(/SEARCH results USING (COVERING )?INDEX results_by_name/);
  expect(one).toMatch(/SEARCH records USING (COVERING )?INDEX records_result_uid/);
});

test("result lists use an index in order", () => {
  expect(plan("results", base)).toMatch(/INDEX results_uid/);
  expect(plan("results", { ...base, parent: "ns" })).toMatch(/INDEX results_(parent_uid|by_name)/);
  const p = plan("results", { ...base, parent: "ns", order: { field: "create_time", desc: true } });
  expect(p).toMatch(/INDEX results_parent_create/);
  expect(p).not.toContain("TEMP B-TREE");
});
