// Injection (issue 3): filters carrying quotes, backslashes, LIKE and GLOB
// wildcards, SQL comment and statement characters, NUL and unicode, sent
// over gRPC to a real server, select exactly what in-memory CEL selects on
// the same records, and leave every stored byte as it was.
import { Database } from "bun:sqlite";
import { afterAll, beforeAll, expect, test } from "bun:test";
import { compileFilter } from "../src/core/filter/compile.ts";
import { filterMatcher } from "../src/core/filter/evaluate.ts";
import { startTestServer, type TestServer } from "./support/server.ts";
import { json, uniqueParent } from "./support/wire.ts";

const NASTY = ["'", "''", '"', "\\", "\\'", "%", "_", "*", "?", "[a]", "--", ";", "/*", "*/", "\u0000", "a\u0000b", "é", "🚀", "' OR 1=1 --", "'; DROP TABLE records; --", "%' OR '%' = '", "x_y%z", "ab*c?", "\n", "\t"];

let s: TestServer;
let parent: string;
const docs = new Map<string, Record<string, unknown>>();

beforeAll(async () => {
  s = await startTestServer();
  parent = uniqueParent("inj");
  const res = await s.client.createResult({ parent, result: { name: `${parent}/results/r`, annotations: { note: "a%b", "q'k": "v\"w" } } });
  let i = 0;
  for (const v of [...NASTY, "plain", "abc", "a%b_c", "100%"]) {
    const doc = {
      apiVersion: "tekton.dev/v1",
      kind: "TaskRun",
      metadata: { name: `n${i}-${v}`, namespace: parent, labels: { app: v, [`k${v}`]: "x" }, annotations: { note: `${v}!` } },
      status: { podName: v, conditions: [{ type: "Succeeded", status: "True", reason: v }] },
    };
    const name = `${res.name}/records/x${i++}`;
    docs.set(name, doc);
    await s.client.createRecord({ parent: res.name, record: { name, data: { type: "tekton.dev/v1.TaskRun", value: json(doc) } } });
  }
});
afterAll(() => s.close());

function snapshot(): string {
  const db = new Database(s.dbPath, { readonly: true });
  try {
    const rows = db.query("SELECT uid, name, etag, update_time, hex(data) AS d FROM records ORDER BY uid").all();
    const results = db.query("SELECT uid, name, etag, annotations FROM results ORDER BY uid").all();
    const ok = db.query<{ integrity_check: string }, []>("PRAGMA integrity_check").get()!.integrity_check;
    return JSON.stringify({ rows, results, ok });
  } finally {
    db.close();
  }
}

const lit = (v: string) => JSON.stringify(v);

test("every nasty literal, in every string operation, selects what CEL selects and changes nothing", async () => {
  const before = snapshot();
  expect(before).toContain('"ok":"ok"');
  let selectedSomething = 0;
  for (const v of NASTY) {
    const filters = [
      `data.metadata.labels.app == ${lit(v)}`,
      `data.metadata.labels[${lit(`k${v}`)}] == "x"`,
      `data.metadata.annotations.note == ${lit(`${v}!`)}`,
      `data.status.podName.startsWith(${lit(v)})`,
      `data.status.podName.endsWith(${lit(v)})`,
      `data.status.podName.contains(${lit(v)})`,
      `data.status.conditions[0].reason == ${lit(v)}`,
      `data.metadata.name.startsWith(${lit(`n1-`)}) || data.status.podName in [${lit(v)}, "plain"]`,
      `!(data.status.podName == ${lit(v)})`,
      `data.status.conditions.exists(c, c.reason == ${lit(v)})`,
    ];
    for (const filter of filters) {
      const match = filterMatcher(compileFilter("records", filter)!); // never empty here
      const expected = [...docs.entries()].filter(([name, doc]) =>
        match({ name, parent, uid: "", data_type: "tekton.dev/v1.TaskRun", data: doc, create_time: new Date(0), update_time: new Date(0) } as never),
      ).map(([name]) => name);
      const got = await s.client.listRecords({ parent: `${parent}/results/-`, filter, pageSize: 1000 });
      expect({ filter, names: got.records.map((r) => r.name).sort() }).toEqual({ filter, names: expected.sort() });
      if (expected.length > 0) selectedSomething++;
    }
    const resultFilter = `annotations["q'k"] == ${lit(v)} || annotations.note.contains(${lit(v)})`;
    const results = await s.client.listResults({ parent, filter: resultFilter });
    const want = "a%b".includes(v) || v === "" ? 1 : 0;
    expect({ resultFilter, n: results.results.length }).toEqual({ resultFilter, n: want });
    const summary = await s.client.getRecordListSummary({ parent: `${parent}/results/-`, summary: "total", filter: `data.status.podName == ${lit(v)}` });
    expect((summary.summary as Array<{ total: number }>)[0]!.total).toBe(1);
  }
  expect(selectedSomething).toBeGreaterThan(NASTY.length * 4);
  expect(snapshot()).toBe(before);
});
