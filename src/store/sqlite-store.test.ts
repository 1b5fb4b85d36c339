// The store's density probes: a label value or name prefix matching many
// rows switches the query shape; both shapes must list the same records.
import { expect, test } from "bun:test";
import { compileFilter } from "../core/filter/compile.ts";
import type { ListQuery } from "../core/store.ts";
import { openDatabase } from "./db.ts";
import { remembered, SqliteStore } from "./sqlite-store.ts";

test("dense and sparse label values and prefixes list the same records as with no probe at all", async () => {
  const db = openDatabase(":memory:");
  db.run("INSERT INTO results (uid, parent, name, create_time, update_time, etag) VALUES ('r', 'ns', 'r', 1, 1, 'e')");
  for (let i = 0; i < 60; i++) {
    const data = { metadata: { name: i % 3 ? `build-${i}` : `test-${i}`, labels: { app: i % 10 ? "common" : `rare-${i}` } } };
    db.run(
      "INSERT INTO records (uid, result_rid, parent, result_name, name, create_time, update_time, etag, type, data) VALUES (?, 1, 'ns', 'r', ?, ?, ?, 'e', 't', jsonb(?))",
      [`u${String(i).padStart(3, "0")}`, `n${i}`, i, i, JSON.stringify(data)],
    );
  }
  const probing = new SqliteStore(db, undefined, 5); // "dense" from 5 rows
  const plain = new SqliteStore(db, undefined, 1_000_000); // never dense
  const q = (filter: string, after: ListQuery["after"] = null): ListQuery => ({ parent: "ns", result: null, filter: compileFilter("records", filter), order: null, after, limit: 7 });
  for (const f of ['data.metadata.labels.app == "common"', 'data.metadata.labels.app == "rare-10"', 'data.metadata.name.startsWith("build")', 'data.metadata.name.startsWith("test-3")']) {
    const a = await probing.listRecords(q(f));
    const b = await plain.listRecords(q(f));
    expect(a.items.map((r) => r.uid)).toEqual(b.items.map((r) => r.uid));
    const next = a.items.at(-1);
    if (next) {
      const a2 = await probing.listRecords(q(f, { value: null, uid: next.uid }));
      const b2 = await plain.listRecords(q(f, { value: null, uid: next.uid }));
      expect(a2.items.map((r) => r.uid)).toEqual(b2.items.map((r) => r.uid));
    }
  }
  expect((await probing.listRecords(q('data.metadata.labels.app == "common"'))).items).toHaveLength(7);
  db.close();
});

test("a name prefix selects string names only: numbers, booleans, arrays and objects never match, with or without the type test", async () => {
  const db = openDatabase(":memory:");
  db.run("INSERT INTO results (uid, parent, name, create_time, update_time, etag) VALUES ('r', 'ns', 'r', 1, 1, 'e')");
  const names: unknown[] = [12, "12-build", true, "1", -3, "-3x", [1], "[1]", { a: 1 }, '{"a"', null, "nodejs-a", "nodejs"];
  names.forEach((name, i) =>
    db.run(
      "INSERT INTO records (uid, result_rid, parent, result_name, name, create_time, update_time, etag, type, data) VALUES (?, 1, 'ns', 'r', ?, ?, ?, 'e', 't', jsonb(?))",
      [`u${String(i).padStart(3, "0")}`, `n${i}`, i, i, JSON.stringify({ metadata: { name } })],
    ),
  );
  const store = new SqliteStore(db);
  const names_ = async (prefix: string) =>
    (await store.listRecords({ parent: "ns", result: null, filter: compileFilter("records", `data.metadata.name.startsWith(${JSON.stringify(prefix)})`), order: null, after: null, limit: 50 })).items.map(
      (r) => (JSON.parse(r.data!.value) as { metadata: { name: unknown } }).metadata.name,
    );
  expect(await names_("1")).toEqual(["12-build", "1"]);
  expect(await names_("-3")).toEqual(["-3x"]);
  expect(await names_("[")).toEqual(["[1]"]);
  expect(await names_("{")).toEqual(['{"a"']);
  expect(await names_("nodejs")).toEqual(["nodejs-a", "nodejs"]);
  expect(await names_("")).toEqual(["12-build", "1", "-3x", "[1]", '{"a"', "nodejs-a", "nodejs"]);
  db.close();
});

test("parents: every parent holding a Result, once each, in order; none in an empty database", async () => {
  const db = openDatabase(":memory:");
  const store = new SqliteStore(db);
  expect(await store.parents()).toEqual([]);
  let n = 0;
  for (const p of ["team-b", "a", "team-b", "team-a", "a", "z_9"]) {
    n++;
    db.run("INSERT INTO results (uid, parent, name, create_time, update_time, etag) VALUES (?, ?, ?, 1, 1, 'e')", [`u${n}`, p, `r${n}`]);
  }
  expect(await store.parents()).toEqual(["a", "team-a", "team-b", "z_9"]);
  db.close();
});

test("a density probe's answer is reused for its time to live, per arguments, then asked again", () => {
  let t = 0;
  const calls: string[] = [];
  let answer = false;
  const probe = remembered(
    (key: string, value: string) => {
      calls.push(`${key}=${value}`);
      return answer;
    },
    1000,
    () => t,
  );
  expect(probe("a", "1")).toBe(false);
  answer = true;
  t = 999;
  expect(probe("a", "1")).toBe(false);
  expect(probe("a", "2")).toBe(true);
  t = 1000;
  expect(probe("a", "1")).toBe(true);
  expect(calls).toEqual(["a=1", "a=2", "a=1"]);
});
