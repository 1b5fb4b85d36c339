/**
 * ListRecords at 100k and 1M stored records. Each database is seeded once
 * (seed.ts: the project's own write path) and cached in bench-data/ with a
 * .json sidecar; the 1M one starts from a copy of the 100k one. The real
 * server then serves the file and list-client.ts measures first pages and
 * deep pages over gRPC from another process, one call in flight.
 *
 * BENCH_SKIP_1M=1 skips the 1M set; BENCH_LIST_SIZES=100000,1000000 chooses sizes.
 */
import { copyFileSync, existsSync, readFileSync, rmSync, statfsSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { closeDatabase, openDatabase } from "../../src/store/db.ts";
import { SCHEMA_VERSION } from "../../src/store/migrations.ts";
import { BENCH_DATA, dbBytes, fmtInt, fmtKB, fmtMB, fmtMs, progress, runChild, startServer, type BenchReport, type Goal, type Lat, type Table } from "./lib.ts";

interface SeedMeta {
  records: number;
  results: number;
  seconds: number;
  namespace: string;
  namespaceRecords: number;
  result: string;
  resultRecords: number;
  seededAt: string;
  /** Seconds spent seeding this file from scratch, including the copied base. */
  totalSeconds: number;
}

interface ListOut {
  /** The first 60 calls to the fresh server (10 rounds of the six first-page queries). */
  cold: Lat;
  first: Array<{ parent: string; orderBy: string; lat: Lat & { items: number; bytes: number } }>;
  deep: Array<{ parent: string; orderBy: string; walkSeconds: number; pagesWalked: number; walkP50: number; pages: Array<{ page: number; lat: Lat }> }>;
}

const label = (n: number) => (n >= 1e6 ? `${n / 1e6}M` : `${n / 1e3}k`);
export const dbPath = (n: number) => join(BENCH_DATA, `list-${label(n)}.db`);
/**
 * Bump when the generator or seeding changes, so cached databases are rebuilt.
 * A database of an older schema version is migrated in place before the
 * server starts (timed and logged, so a slow migration is seen rather than
 * hidden in the server's start-up); one of a newer version is rebuilt.
 */
const SEED_VERSION = 2;

export async function ensureSeeded(n: number, base: number | null): Promise<SeedMeta> {
  const path = dbPath(n);
  const metaPath = `${path}.json`;
  if (existsSync(path) && existsSync(metaPath)) {
    const m = JSON.parse(readFileSync(metaPath, "utf8")) as SeedMeta & { version?: number; schema?: number };
    if (m.version === SEED_VERSION && m.schema === SCHEMA_VERSION && m.records === n) {
      progress(`list: using cached ${path} (${fmtInt(m.records)} records, seeded ${m.seededAt})`);
      return m;
    }
    if (m.version === SEED_VERSION && m.records === n && (m.schema ?? 0) < SCHEMA_VERSION) {
      progress(`list: migrating cached ${path} from schema ${m.schema} to ${SCHEMA_VERSION} in place`);
      const t0 = performance.now();
      const db = openDatabase(path);
      closeDatabase(db);
      const seconds = (performance.now() - t0) / 1000;
      progress(`list: migrated ${path} in ${seconds.toFixed(0)} s`);
      writeFileSync(metaPath, JSON.stringify({ ...m, schema: SCHEMA_VERSION }, null, 2));
      return m;
    }
  }
  mkdirSync(BENCH_DATA, { recursive: true });
  for (const suffix of ["", "-wal", "-shm", ".json"]) rmSync(path + suffix, { force: true });
  const free = statfsSync(BENCH_DATA);
  const need = n * 16 * 1024 * 1.2;
  if (free.bavail * free.bsize < need) throw new Error(`list: not enough disk for ${label(n)} (${fmtMB(need)} MiB needed)`);
  let baseSeconds = 0;
  if (base !== null && existsSync(dbPath(base)) && existsSync(`${dbPath(base)}.json`)) {
    progress(`list: copying ${dbPath(base)} as the start of ${path}`);
    copyFileSync(dbPath(base), path);
    if (existsSync(`${dbPath(base)}-wal`)) copyFileSync(`${dbPath(base)}-wal`, `${path}-wal`);
    baseSeconds = (JSON.parse(readFileSync(`${dbPath(base)}.json`, "utf8")) as SeedMeta).totalSeconds;
  }
  progress(`list: seeding ${path} to ${fmtInt(n)} records (one-off; cached afterwards)`);
  const { result } = await runChild<Omit<SeedMeta, "seededAt" | "totalSeconds">>("scripts/bench/seed.ts", ["--db", path, "--records", String(n)]);
  const meta: SeedMeta = { ...result, seededAt: new Date().toISOString(), totalSeconds: baseSeconds + result.seconds };
  writeFileSync(metaPath, JSON.stringify({ ...meta, version: SEED_VERSION, schema: SCHEMA_VERSION }, null, 2));
  return meta;
}

function sizes(): number[] {
  if (process.env.BENCH_LIST_SIZES) return process.env.BENCH_LIST_SIZES.split(",").map(Number);
  return process.env.BENCH_SKIP_1M ? [100_000] : [100_000, 1_000_000];
}

export async function run(): Promise<BenchReport> {
  const tables: Table[] = [];
  const goals: Goal[] = [];
  const figures: Record<string, number> = {};
  const summary: string[][] = [];
  let prev: number | null = null;
  for (const n of sizes()) {
    const meta = await ensureSeeded(n, prev);
    prev = n;
    const path = dbPath(n);
    const size = dbBytes(path);
    // A cached database made by an older schema is migrated by the server as it starts, as an upgrade would.
    const server = await startServer(path, [], { startTimeoutMs: 30 * 60_000 });
    const idle = server.sampler.sample()!;
    progress(`list ${label(n)}: server pid ${server.pid}; namespace ${meta.namespace} (${fmtInt(meta.namespaceRecords)} records), result ${meta.result} (${meta.resultRecords} records)`);
    const t0 = performance.now();
    const { result: out } = await runChild<ListOut>("scripts/bench/list-client.ts", ["--address", server.address, "--ns", meta.namespace, "--result", meta.result]);
    const seconds = (performance.now() - t0) / 1000;
    const peak = server.sampler.peakRssKiB;
    const hwm = server.sampler.hwmKiB;
    await server.stop();

    const L = label(n);
    const parentLabel = (p: string) => p.replace(meta.namespace, "<ns>").replace(meta.result, "<r>");
    tables.push({
      title: `ListRecords, page_size 50, ${L} records: first page (${out.first[0]!.lat.n} calls each, round-robin, 1 in flight)`,
      headers: ["parent", "order_by", "items", "page KiB (data)", "p50 ms", "p99 ms", "max ms"],
      rows: out.first.map((f) => [parentLabel(f.parent), f.orderBy || "(default: uid)", String(f.lat.items), fmtKB(f.lat.bytes), fmtMs(f.lat.p50), fmtMs(f.lat.p99), fmtMs(f.lat.max)]),
      note:
        `<ns> = ${meta.namespace} (${fmtInt(meta.namespaceRecords)} records, the busiest namespace); <r> = its biggest result (${meta.resultRecords} records, so its "page" is all of them). ` +
        `Measured after 1,200 warm-up calls; the first 60 calls to the fresh server had p50 ${fmtMs(out.cold.p50)} ms, p99 ${fmtMs(out.cold.p99)} ms (JIT warm-up).`,
    });
    tables.push({
      title: `ListRecords, page_size 50, ${L} records: deep pages through next_page_token`,
      headers: ["parent", "order_by", "pages walked (walk s)", "page 1 p50 / p99 ms", "page 100 p50 / p99 ms", "deepest page p50 / p99 ms"],
      rows: out.deep.map((d) => {
        const at = (pg: number) => d.pages.find((p) => p.page === pg);
        const deepest = d.pages[d.pages.length - 1]!;
        const cell = (p?: { lat: Lat }) => (p ? `${fmtMs(p.lat.p50)} / ${fmtMs(p.lat.p99)}` : "–");
        return [parentLabel(d.parent), d.orderBy || "(default: uid)", `${d.pagesWalked} (${d.walkSeconds.toFixed(1)})`, cell(at(1)), cell(at(100)), `page ${deepest.page}: ${cell(deepest)}`];
      }),
      note: "After the walk, pages 1, 100 and the deepest (1000, or the last page of a shorter list) are called again with their tokens, 100 rounds round-robin.",
    });
    summary.push([
      L,
      fmtInt(meta.records),
      fmtInt(meta.results),
      `${(size.total / 2 ** 30).toFixed(2)} GiB`,
      `${fmtKB(size.total / meta.records)} KiB`,
      `${meta.totalSeconds.toFixed(0)} s (${fmtInt(meta.records / meta.totalSeconds)}/s)`,
      `${fmtMB(idle.rssKiB * 1024)} → ${fmtMB(Math.max(peak, hwm) * 1024)}`,
      seconds.toFixed(0),
    ]);

    // Goals (the issue states them at 1M; reported for every size).
    const p50s = out.first.filter((f) => f.lat.items >= 50 || f.parent.endsWith("/results/-")).map((f) => f.lat.p50);
    const worstFirst = Math.max(...p50s);
    figures[`firstPageP50Worst_${L}`] = worstFirst;
    figures[`peakRssKiB_${L}`] = Math.max(peak, hwm);
    let flat = true;
    let worstRatio = 0;
    for (const d of out.deep) {
      const p1 = d.pages[0]!.lat.p50;
      const last = d.pages[d.pages.length - 1]!.lat.p50;
      const ratio = last / p1;
      worstRatio = Math.max(worstRatio, ratio);
      if (ratio > 1.5 && last - p1 > 2) flat = false;
    }
    const deepestPage = Math.min(...out.deep.map((d) => d.pages[d.pages.length - 1]!.page));
    const worstDeepP50 = Math.max(...out.deep.map((d) => d.pages[d.pages.length - 1]!.lat.p50));
    const rss = Math.max(peak, hwm) * 1024;
    const latencyGoals: Goal[] = [
      { goal: "p50 of a first page of 50 ≤ 10 ms at 1M (worst over parents and orders)", measured: `${fmtMs(worstFirst)} ms`, met: worstFirst <= 10 },
      { goal: "p50 of a deep page ≤ 10 ms at 1M (worst deepest page walked)", measured: `${fmtMs(worstDeepP50)} ms`, met: worstDeepP50 <= 10 },
      {
        goal: "flat cost from page 1 to page 1000 at 1M (per list: p50 ratio ≤ 1.5× or ≤ 2 ms apart)",
        measured: `worst ratio ${worstRatio.toFixed(2)}× (page 1 → page ${deepestPage})`,
        met: flat,
      },
    ];
    if (n >= 1_000_000) goals.push(...latencyGoals);
    else if (!sizes().some((m) => m >= 1_000_000)) {
      goals.push(...latencyGoals.map((g) => ({ goal: g.goal, measured: `1M not run; at ${L}: ${g.measured}`, met: null })));
    }
    goals.push({ goal: `server RSS ≤ 150 MB while listing ${L}`, measured: `${(rss / 1e6).toFixed(0)} MB (${fmtMB(rss)} MiB)`, met: rss <= 150e6 });
  }
  tables.unshift({
    title: "ListRecords datasets",
    headers: ["set", "records", "results", "database", "bytes / record", "seeding (one-off)", "server RSS idle → peak MiB", "list bench s"],
    rows: summary,
    note: "Seeded through openDatabase + SqliteStore + ResultsService (the server's own write path, no gRPC), batches of 256 groups; ~2,150 distinct generated payloads cycled with fresh names.",
  });
  return { name: "list", tables, goals, figures };
}

if (import.meta.main) {
  const r = await run();
  console.log(JSON.stringify(r));
}
