/**
 * The payloads every benchmark uses: sizes of the generated runs next to the
 * real fixtures (../shared/fixtures/real, when present), and of the exact
 * bytes the ingest workload sends (4 lifecycle states per run).
 */
import { existsSync } from "node:fs";
import { compareWithFixtures, sizeStats, type SizeStats } from "../../test/support/data.ts";
import { buildRunPool, FIXTURES, fmtInt, type BenchReport } from "./lib.ts";

const row = (label: string, s: SizeStats) => [label, fmtInt(s.n), fmtInt(s.min), fmtInt(s.p10), fmtInt(s.p50), fmtInt(s.p90), fmtInt(s.max), fmtInt(s.mean)];
const headers = ["objects", "n", "min", "p10", "p50", "p90", "max", "mean"];

export async function run(): Promise<BenchReport> {
  const rows: string[][] = [];
  let note = `Fixtures not found at ${FIXTURES}: generated sizes only.`;
  if (existsSync(FIXTURES)) {
    const c = compareWithFixtures(FIXTURES, { seed: 1, groups: 500 });
    rows.push(
      row("fixtures: TaskRuns (full objects)", c.fixtures.taskRuns),
      row("fixtures: PipelineRuns (full objects)", c.fixtures.pipelineRuns),
      row("fixtures: all full objects", c.fixtures.all),
      row("fixtures: every file as stored (pretty JSON)", c.fixtures.prettyFiles),
      row("generated: TaskRuns", c.generated.taskRuns),
      row("generated: PipelineRuns", c.generated.pipelineRuns),
      row("generated: all", c.generated.all),
    );
    note = "Full objects = apiVersion + metadata + status present, synthetic files excluded (33 of 38 files).";
  }
  const pool = buildRunPool(1, 1000);
  const create = pool.map((r) => r.stages[0]!.length);
  const updates = pool.flatMap((r) => r.stages.slice(1).map((s) => s.length));
  rows.push(row("ingest workload: CreateRecord data.value", sizeStats(create)), row("ingest workload: UpdateRecord data.value", sizeStats(updates)));
  return {
    name: "payloads",
    tables: [{ title: "Payload sizes, bytes of compact JSON (what a client sends)", headers, rows, note }],
  };
}

if (import.meta.main) {
  const r = await run();
  console.log(JSON.stringify(r));
}
