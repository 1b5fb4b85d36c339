// The list queries: only bound values, and every list shape walks an index
// in the requested order (no full scan, no sort of the table).
import { expect, test } from "bun:test";
import { openDatabase } from "./db.ts";
import { buildListQueries } from "./list-sql.ts";
import type { ListQuery } from "../core/store.ts";
import { compileFilter } from "../core/filter/compile.ts";

const db = openDatabase(":memory:");

function plans(table: "results" | "records", q: ListQuery): string[] {
  return buildListQueries(table, `${table}.rid`, q).map(({ sql, params }) =>
    (db.query(`EXPLAIN QUERY PLAN ${sql}`).all(...(params.values as never[])) as Array<{ detail: string }>)
      .map((r) => r.detail)
      .join(" | "),
  );
}
const plan = (table: "results" | "records", q: ListQuery) => plans(table, q).join(" || ");

const base: ListQuery = { parent: null, result: null, filter: null, order: null, after: null, limit: 51 };

test("no value ever appears in the SQL text", () => {
  const evil = "x' OR 1=1; --";
  const qs = buildListQueries("records", "rid", {
    ...base,
    parent: evil,
    result: evil,
    filter: compileFilter("records", `data.metadata.name == ${JSON.stringify(evil)} || name.startsWith(${JSON.stringify(evil)})`),
    order: { field: "create_time", desc: true },
    after: { value: 5, uid: evil },
  });
  for (const { sql, params } of qs) {
    expect(sql).not.toContain(evil);
    expect(sql).not.toContain("OR 1=1");
    expect(params.values.filter((p) => p === evil).length).toBeGreaterThanOrEqual(3);
  }
});

test("record lists use an index in order, for every parent shape and order", () => {
  const cases: Array<[Partial<ListQuery>, RegExp]> = [
    [{}, /USING (COVERING )?INDEX records_uid/],
    [{ parent: "ns" }, /USING (COVERING )?INDEX records_parent_uid/],
    [{ parent: "ns", result: "r" }, /SEARCH records USING (COVERING )?INDEX records_result_uid \(result_rid=\?\)/],
    [{ order: { field: "create_time", desc: true } }, /USING (COVERING )?INDEX records_create/],
    [{ parent: "ns", order: { field: "create_time", desc: true } }, /USING (COVERING )?INDEX records_parent_create/],
    [{ parent: "ns", order: { field: "create_time", desc: false }, after: { value: 5, uid: "u" } }, /records_parent_create \(parent=\? AND \(create_time,uid\)>\(\?,\?\)\)/],
    [{ order: { field: "create_time", desc: true }, after: { value: 5, uid: "u" } }, /records_create \(\(create_time,uid\)<\(\?,\?\)\)/],
    [{ after: { value: null, uid: "u" } }, /records_uid \(uid>\?\)/],
    [{ order: { field: "data.status.startTime", desc: true } }, /INDEX records_g_start_time/],
    [{ order: { field: "data.status.completionTime", desc: false }, after: { value: 5, uid: "u" } }, /records_g_completion_time \(\(g_completion_time,uid\)>\(\?,\?\)\)/],
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

test("result lists use an index in order; nullable orders seek both blocks", () => {
  expect(plan("results", base)).toMatch(/INDEX results_uid/);
  expect(plan("results", { ...base, parent: "ns" })).toMatch(/INDEX results_(parent_uid|by_name)/);
  const p = plan("results", { ...base, parent: "ns", order: { field: "create_time", desc: true } });
  expect(p).toMatch(/INDEX results_parent_create/);
  expect(p).not.toContain("TEMP B-TREE");
  const desc = plans("results", { ...base, order: { field: "summary.start_time", desc: true }, after: { value: 5, uid: "u" } });
  expect(desc).toHaveLength(2);
  expect(desc[0]).toMatch(/results_summary_start_time \(\(summary_start_time,uid\)<\(\?,\?\)\)/);
  expect(desc[1]).toMatch(/results_summary_start_time \(summary_start_time=\?\)|summary_start_time IS NULL|results_summary_start_time/);
});

test("indexed filter fields are searched through their index", () => {
  const cases: Array<[string, RegExp]> = [
    ['data.metadata.namespace == "ns"', /INDEX records_g_namespace \(g_namespace=\?\)/],
    ['data.metadata.labels["tekton.dev/pipeline"] == "p"', /INDEX records_g_pipeline \(g_pipeline=\?\)/],
    ["data.metadata.labels['tekton.dev/task'] == 'build'", /INDEX records_g_task \(g_task=\?\)/],
    ['data.status.conditions[0].reason == "Failed"', /INDEX records_g_reason \(g_reason=\?\)/],
    ['data.metadata.uid == "u"', /INDEX records_g_uid \(g_uid=\?\)/],
    ['data.metadata.name.startsWith("build")', /INDEX records_g_name \(g_name>\? AND g_name<\?\)/],
    // A one-sided time range in uid order is better served by walking uid and
    // stopping after a page, so the planner picks the index for a window.
    [
      'data.status.startTime > timestamp("2024-01-01T00:00:00Z") && data.status.startTime < timestamp("2024-01-02T00:00:00Z")',
      /INDEX records_g_start_time \(g_start_time>\? AND g_start_time<\?\)/,
    ],
    [
      'data.status.completionTime >= timestamp("2024-01-01T00:00:00Z") && data.status.completionTime <= timestamp("2024-01-02T00:00:00Z")',
      /INDEX records_g_completion_time \(g_completion_time>\? AND g_completion_time<\?\)/,
    ],
    ['data_type == "tekton.dev/v1.TaskRun"', /INDEX records_type \(type=\?\)/],
  ];
  for (const [filter, re] of cases) {
    expect(plan("records", { ...base, filter: compileFilter("records", filter) })).toMatch(re);
  }
  const results: Array<[string, RegExp]> = [
    ["summary.status == SUCCESS", /INDEX results_summary_status \(summary_status=\?\)/],
    ["summary.type == PIPELINE_RUN", /INDEX results_summary_type \(summary_type=\?\)/],
    [
      'summary.end_time > timestamp("2024-01-01T00:00:00Z") && summary.end_time < timestamp("2024-01-02T00:00:00Z")',
      /INDEX results_summary_end_time \(summary_end_time>\? AND summary_end_time<\?\)/,
    ],
  ];
  for (const [filter, re] of results) {
    expect(plan("results", { ...base, filter: compileFilter("results", filter) })).toMatch(re);
  }
});

test("label and result-annotation equality is searched through the key/value side tables; record annotations read the JSON", () => {
  // Planner statistics decide between the side table and walking uid, so
  // this database has rows like a real one: selective labels, then ANALYZE.
  const kv = openDatabase(":memory:");
  kv.transaction(() => {
    for (let r = 0; r < 200; r++) {
      kv.run("INSERT INTO results (uid, parent, name, create_time, update_time, etag, annotations) VALUES (?, 'ns', ?, 1, 1, 'e', ?)", [
        `res-${r}`,
        `r${r}`,
        JSON.stringify({ repo: `org/app-${r}` }),
      ]);
      for (let i = 0; i < 10; i++) {
        const data = { metadata: { labels: { app: `app-${r}`, "pipelinesascode.tekton.dev/sha": `sha-${r}-${i}` }, annotations: { sha: `sha-${r}-${i}` } } };
        kv.run(
          "INSERT INTO records (uid, result_rid, parent, result_name, name, create_time, update_time, etag, type, data) VALUES (?, ?, 'ns', ?, ?, 1, 1, 'e', 't', jsonb(?))",
          [`rec-${r}-${i}`, r + 1, `r${r}`, `n${i}`, JSON.stringify(data)],
        );
      }
    }
  })();
  kv.run("ANALYZE");
  const planOf = (table: "results" | "records", filter: string) =>
    buildListQueries(table, `${table}.rid`, { ...base, filter: compileFilter(table, filter) })
      .map(({ sql, params }) => (kv.query(`EXPLAIN QUERY PLAN ${sql}`).all(...(params.values as never[])) as Array<{ detail: string }>).map((r) => r.detail).join(" | "))
      .join(" || ");
  const side = /SEARCH record_kv USING PRIMARY KEY \(kind=\? AND key=\? AND value=\?\)/;
  expect(planOf("records", 'data.metadata.labels["app"] == "app-7"')).toMatch(side);
  expect(planOf("records", 'data.metadata.labels["pipelinesascode.tekton.dev/sha"] == "sha-3-3"')).toMatch(side);
  // Record annotations are not in the side table (migration 0005): never searched there, and none are stored.
  expect(planOf("records", 'data.metadata.annotations["sha"] == "sha-3-3"')).not.toMatch(/record_kv/);
  expect(kv.query("SELECT count(*) AS n FROM record_kv WHERE kind <> 0").get()).toEqual({ n: 0 });
  expect(kv.query("SELECT count(*) AS n FROM record_kv").get()).toEqual({ n: 200 * 10 * 2 });
  expect(planOf("records", 'data.metadata.labels["app"] in ["app-1", "app-2"]')).toMatch(side);
  expect(planOf("results", 'annotations["repo"] == "org/app-5"')).toMatch(/SEARCH result_kv USING PRIMARY KEY \(key=\? AND value=\?\)/);
  // The side table answers exactly what the document says.
  const count = (f: string) =>
    buildListQueries("records", "records.rid", { ...base, limit: 1000, filter: compileFilter("records", f) })
      .map(({ sql, params }) => kv.query(sql).all(...(params.values as never[])).length)
      .reduce((a, b) => a + b, 0);
  expect(count('data.metadata.labels["app"] == "app-7"')).toBe(10);
  expect(count('data.metadata.annotations["sha"] == "sha-3-3"')).toBe(1);

  // A value that matches many rows: walk the list order, probe per row.
  const dense = { denseKv: () => true };
  const densePlan = buildListQueries("records", "records.rid", { ...base, filter: compileFilter("records", 'data.metadata.labels["app"] == "app-7"') }, dense)
    .map(({ sql, params }) => (kv.query(`EXPLAIN QUERY PLAN ${sql}`).all(...(params.values as never[])) as Array<{ detail: string }>).map((r) => r.detail).join(" | "))
    .join(" || ");
  expect(densePlan).toMatch(/SCAN records USING (COVERING )?INDEX records_uid/);
  expect(densePlan).toMatch(/SEARCH record_kv (EXISTS )?USING PRIMARY KEY \(kind=\? AND key=\? AND value=\? AND rid=\?\)/);
  expect(densePlan).not.toMatch(/TEMP B-TREE/);
  for (const f of ['data.metadata.labels["app"] == "app-7"', 'data.metadata.labels["app"] in ["app-1", "app-2", "nope"]', '!(data.metadata.labels["app"] == "app-7")']) {
    const rows = (o: object) =>
      buildListQueries("records", "records.rid", { ...base, limit: 5000, filter: compileFilter("records", f) }, o)
        .flatMap(({ sql, params }) => kv.query(sql).all(...(params.values as never[])) as Array<{ rid: number }>)
        .map((r) => r.rid);
    expect(rows(dense)).toEqual(rows({}));
  }
  expect(planOf("results", 'annotations["repo"] == "org/app-5"')).toMatch(/result_kv/);
  kv.close();
});

test("a name prefix most rows share is checked per row in list order, not sorted", () => {
  const q = { ...base, filter: compileFilter("records", 'data.metadata.name.startsWith("build")') };
  const planWith = (o: object) =>
    buildListQueries("records", "records.rid", q, o)
      .map(({ sql, params }) => (db.query(`EXPLAIN QUERY PLAN ${sql}`).all(...(params.values as never[])) as Array<{ detail: string }>).map((r) => r.detail).join(" | "))
      .join(" || ");
  expect(planWith({ denseRange: () => false })).toMatch(/INDEX records_g_name \(g_name>\? AND g_name<\?\)/);
  const dense = planWith({ denseRange: (col: string) => col === "records.g_name" });
  expect(dense).toMatch(/SCAN records USING (COVERING )?INDEX records_uid /);
  // Each row's name is read beside its uid (migration 0006), not from the document.
  expect(dense).toMatch(/SEARCH n\d+ EXISTS USING INDEX records_uid_name \(uid=\? AND g_name>\? AND g_name<\?\)/);
  expect(dense).not.toMatch(/TEMP B-TREE/);
});

test("a caller's parent globs are bound values ORed together; an empty scope matches nothing", () => {
  const [q] = buildListQueries("results", "rid", { ...base, parents: ["team-*", "ops"] });
  expect(q!.sql).toContain("(results.parent GLOB ?");
  expect(q!.sql).toContain(" OR results.parent GLOB ?");
  expect(q!.sql).not.toContain("team-*");
  expect(q!.params.values).toContain("team-*");
  const [none] = buildListQueries("records", "rid", { ...base, parents: [] });
  expect(none!.sql).toMatch(/WHERE 0 /);
  const [all] = buildListQueries("records", "rid", { ...base, parents: null });
  expect(all!.sql).not.toContain("GLOB");
});
