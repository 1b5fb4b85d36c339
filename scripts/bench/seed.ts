/**
 * Seeds a database for the list benchmark through the project's own write
 * path (openDatabase + SqliteStore + ResultsService, the code `serve` runs,
 * minus gRPC), in big batches: one Result per PipelineRun group and one Record
 * per run (PipelineRun and TaskRuns, final state, compact JSON), namespaces
 * drawn from the generator's ~20. A pool of distinct groups is cycled, each
 * use with a fresh result name, record names and namespace draw.
 *
 *   bun scripts/bench/seed.ts --db bench-data/list-100k.db --records 100000 [--seed 7] [--pool-groups 400]
 *
 * Appends to an existing database (so the 1M set can start from a copy of the
 * 100k one). Prints progress on stderr and a JSON summary on stdout.
 */
import { closeDatabase, openDatabase } from "../../src/store/db.ts";
import { SqliteStore } from "../../src/store/sqlite-store.ts";
import { ResultsService } from "../../src/core/results-service.ts";
import { systemClock, uuidv7Generator } from "../../src/core/clock.ts";
import { generateRunGroup, makeRng, pickNamespace, uuid, type Obj } from "../../test/support/data.ts";
import { argMap, progress, recordType } from "./lib.ts";

const a = argMap(process.argv.slice(2));
const path = a.db!;
const target = Number(a.records);
const rng = makeRng(Number(a.seed ?? 7));
const POOL = Number(a["pool-groups"] ?? 400);
const CHUNK_GROUPS = 256;

interface PoolGroup {
  records: Array<{ type: string; value: Uint8Array }>;
}
const enc = new TextEncoder();
const pool: PoolGroup[] = [];
for (let i = 0; i < POOL; i++) {
  const g = generateRunGroup(rng);
  pool.push({ records: [g.pipelineRun, ...g.taskRuns].map((o: Obj) => ({ type: recordType(o), value: enc.encode(JSON.stringify(o)) })) });
}
progress(`seed: pool of ${POOL} groups, ${pool.reduce((n, g) => n + g.records.length, 0)} distinct payloads`);

const db = openDatabase(path);
const store = new SqliteStore(db);
const svc = new ResultsService(store, systemClock, uuidv7Generator(systemClock));
const existing = db.query<{ n: number }, []>("SELECT count(*) AS n FROM records").get()!.n;
// Names and namespaces from a stream of their own, so appending to a copy never repeats a name.
const names = makeRng(Number(a.seed ?? 7) * 1_000_003 + existing);
let written = existing;
let gi = 0;
const t0 = performance.now();
let lastReport = t0;
while (written < target) {
  const pending: Promise<unknown>[] = [];
  for (let k = 0; k < CHUNK_GROUPS && written < target; k++) {
    const g = pool[gi++ % POOL]!;
    const ns = pickNamespace(names);
    const result = `${ns}/results/${uuid(names)}`;
    pending.push(svc.createResult(ns, { name: result, annotations: {}, summary: null }));
    for (const r of g.records) {
      if (written >= target) break;
      pending.push(svc.createRecord(result, { name: `${result}/records/${uuid(names)}`, data: r }));
      written++;
    }
  }
  await Promise.all(pending);
  const now = performance.now();
  if (now - lastReport > 10_000) {
    lastReport = now;
    const rate = (written - existing) / ((now - t0) / 1000);
    progress(`seed: ${written.toLocaleString("en-US")} / ${target.toLocaleString("en-US")} records, ${rate.toFixed(0)}/s, ETA ${((target - written) / rate).toFixed(0)} s`);
  }
}
const seconds = (performance.now() - t0) / 1000;
store.close();
// Facts the list benchmark needs: the busiest namespace and its biggest result.
const busiest = db.query<{ parent: string; n: number }, []>("SELECT parent, count(*) AS n FROM records GROUP BY parent ORDER BY n DESC LIMIT 1").get()!;
const bigResult = db
  .query<{ result_name: string; n: number }, [string]>("SELECT result_name, count(*) AS n FROM records WHERE parent = ? GROUP BY result_name ORDER BY n DESC LIMIT 1")
  .get(busiest.parent)!;
const counts = db.query<{ records: number; results: number }, []>("SELECT (SELECT count(*) FROM records) AS records, (SELECT count(*) FROM results) AS results").get()!;
closeDatabase(db);
console.log(JSON.stringify({ ...counts, added: written - existing, seconds, namespace: busiest.parent, namespaceRecords: busiest.n, result: bigResult.result_name, resultRecords: bigResult.n }));
