/**
 * The write path without the network: the ingest workload (per run
 * CreateResult, CreateRecord and 3 UpdateRecord, 32 runs at a time, the
 * fixtures' payloads) through the real ResultsService, SqliteStore and
 * group-committing writer, in one process. It prices what the gRPC ingest
 * figure cannot separate: CPU per write, WAL frames per write (each frame is
 * two `pwrite` calls), how both fall with more writes per commit, and what
 * the indexes on document fields and the label side table cost, which serve
 * the filter goals (migrations 0002, 0003/0005).
 *
 * Every configuration has its own database, and they take turns in chunks of
 * 160 writes, so a slow spell of the shared machine hits them all alike.
 * CPU is the main thread's, where the server's writer runs; frames
 * are counted from the WAL's size after each chunk, which a TRUNCATE
 * checkpoint then empties, outside the timing.
 *
 *   bun scripts/bench/store-writes.ts     (BENCH_STORE_RUNS, default 3000 runs = 15,000 writes per configuration)
 */
import type { Database } from "bun:sqlite";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { systemClock, uuidv7Generator } from "../../src/core/clock.ts";
import { ResultsService } from "../../src/core/results-service.ts";
import { closeDatabase, openDatabase } from "../../src/store/db.ts";
import { SqliteStore } from "../../src/store/sqlite-store.ts";
import { CALLS } from "./load.ts";
import { BENCH_DATA, buildRunPool, dbBytes, fmtInt, IN_FLIGHT, ingestCall, progress, type BenchReport } from "./lib.ts";

const RUNS = Number(process.env.BENCH_STORE_RUNS ?? 3000);
const CHUNK = 160;
/** SQLite's WAL file format: a 32-byte file header, then frames of a 24-byte header and one page. */
const WAL_HEADER = 32;
const WAL_FRAME_HEADER = 24;

/**
 * The indexes whose keys come from the document: those on the generated
 * `g_*` columns (migrations 0002 and 0006), read from the schema so the list
 * follows the migrations.
 */
function fieldIndexes(db: Database): string[] {
  return db
    .query<{ name: string }, []>(
      "SELECT DISTINCT il.name FROM pragma_index_list('records') AS il, pragma_index_info(il.name) AS ii WHERE ii.name LIKE 'g\\_%' ESCAPE '\\' ORDER BY il.name",
    )
    .all()
    .map((r) => r.name);
}

interface Config {
  label: string;
  /** Writes submitted together, hence committed together. */
  batch: number;
  alter?: (db: Database) => void;
}

const CONFIGS: Config[] = [
  { label: "as shipped, 2 writes per commit", batch: 2 },
  { label: "as shipped, 8 writes per commit", batch: 8 },
  { label: "as shipped, 32 writes per commit", batch: 32 },
  { label: "without the document-field indexes, 8 per commit", batch: 8, alter: (db) => fieldIndexes(db).forEach((i) => db.run(`DROP INDEX "${i}"`)) },
  { label: "without the label side table, 8 per commit", batch: 8, alter: (db) => ["record_kv_insert", "record_kv_update"].forEach((t) => db.run(`DROP TRIGGER ${t}`)) },
];

/** Call k (0..4, as in load.ts) of run i, in the order 32 runs in flight issue them: stage by stage. */
function callOrder(runs: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let g = 0; g < runs; g += IN_FLIGHT) {
    for (let k = 0; k < CALLS.length; k++) for (let i = g; i < Math.min(runs, g + IN_FLIGHT); i++) out.push([i, k]);
  }
  return out;
}

export async function run(): Promise<BenchReport> {
  const pool = buildRunPool(1, 1000);
  const order = callOrder(RUNS);
  const root = join(BENCH_DATA, "tmp-store-writes");
  rmSync(root, { recursive: true, force: true });
  const states = CONFIGS.map((c, n) => {
    const dir = join(root, String(n));
    mkdirSync(dir, { recursive: true });
    const path = join(dir, "h.db");
    const db = openDatabase(path);
    db.run("PRAGMA wal_autocheckpoint = 0");
    c.alter?.(db);
    const svc = new ResultsService(new SqliteStore(db), systemClock, uuidv7Generator(systemClock));
    const truncate = db.prepare("PRAGMA wal_checkpoint(TRUNCATE)");
    const frameBytes = db.query<{ page_size: number }, []>("PRAGMA page_size").get()!.page_size + WAL_FRAME_HEADER;
    const walFrames = () => Math.max(0, dbBytes(path).wal - WAL_HEADER) / frameBytes;
    return { c, db, svc, truncate, walFrames, cpuUs: 0, frames: 0, writes: 0 };
  });

  const call = (svc: ResultsService, i: number, k: number): Promise<unknown> => {
    const c = ingestCall(pool, i, k);
    const data = { type: c.type, value: c.value };
    if (c.kind === "createResult") return svc.createResult(c.namespace, { name: c.resultName, annotations: {}, summary: null });
    if (c.kind === "createRecord") return svc.createRecord(c.resultName, { name: c.recordName, data });
    return svc.updateRecord({ name: c.recordName, data }, "");
  };

  progress(`store writes: ${fmtInt(order.length)} writes per configuration, ${CONFIGS.length} configurations taking turns`);
  for (let at = 0; at < order.length; at += CHUNK) {
    const end = Math.min(order.length, at + CHUNK);
    for (const s of states) {
      const c0 = process.threadCpuUsage();
      for (let b = at; b < end; b += s.c.batch) {
        // Submitted in one turn, the writer commits them as one transaction.
        const batch = order.slice(b, Math.min(end, b + s.c.batch)).map(([i, k]) => call(s.svc, i, k));
        await Promise.all(batch);
      }
      const c = process.threadCpuUsage(c0);
      s.cpuUs += c.user + c.system;
      s.writes += end - at;
      s.frames += s.walFrames();
      s.truncate.run();
    }
  }
  // The reference: the schema as shipped at about the server's batch size.
  const ref = states.find((s) => s.c.batch === 8 && !s.c.alter)!;
  const base = ref.cpuUs / ref.writes;
  const rows = states.map((s) => {
    const us = s.cpuUs / s.writes;
    return [s.c.label, us.toFixed(1), `${((us / base) * 100).toFixed(0)}%`, (s.frames / s.writes).toFixed(2), fmtInt(1e6 / us)];
  });
  const figures: Record<string, number> = { usPerWrite: base };
  states.forEach((s, n) => (figures[`config${n}`] = s.cpuUs / s.writes));
  for (const s of states) closeDatabase(s.db);
  rmSync(root, { recursive: true, force: true });
  return {
    name: "store-writes",
    figures,
    tables: [
      {
        title: `Store writes in process: the ingest workload through ResultsService and SqliteStore, no network (${fmtInt(order.length)} writes per configuration)`,
        headers: ["configuration", "main-thread CPU µs / write", "vs as shipped (8)", "WAL frames / write", "writes / s of one core"],
        rows,
        note:
          "The gRPC ingest benchmark commits about 8 writes at a time with 32 calls in flight. In the server the same writes cost " +
          "more CPU than here (measured: about 1.7 times, with the network's work running between them on the same thread), so these figures are a floor.",
      },
    ],
  };
}

if (import.meta.main) {
  const r = await run();
  console.log(JSON.stringify(r));
}
