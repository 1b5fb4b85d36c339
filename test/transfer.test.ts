/**
 * Export and import through the compiled binary: export -> import into a
 * fresh instance gives the same results and records (uids, times, etags,
 * data), twice is the same as once, and the Results API importer copies a
 * running instance over its REST API page by page (Hindsight's REST routes
 * are upstream's, so this is the path an upstream server is read by).
 */
import { afterAll, afterEach, beforeAll, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { RecordSummary_Status as S } from "../src/gen/resources_pb.ts";
import { binaryIn } from "./support/binary.ts";
import { killAllProcesses, removeDir, runCli, startHindsight, tempDir, type HindsightProcess } from "./support/process.ts";

let dir = "";
let binary = "";
let source: HindsightProcess;
const enc = new TextEncoder();
const cli = (args: string[]) => runCli(args, { cmd: [binary], cwd: dir, timeoutMs: 60_000 });

beforeAll(async () => {
  dir = tempDir("hindsight-transfer-");
  binary = await binaryIn(dir);
  source = await startHindsight({ cmd: [binary], cwd: dir, db: join(dir, "source.db") });
  const c = source.client();
  // More than a page (100) of results and of records, for the API importer.
  for (let i = 0; i < 120; i++) {
    const parent = i % 3 === 0 ? "ci" : "team-a";
    const name = `${parent}/results/run-${i}`;
    await c.createResult({
      parent,
      result: {
        name,
        annotations: { "tekton.dev/pipeline": `p${i % 4}`, note: "ünïcode ✓" },
        ...(i % 2 === 0 ? { summary: { record: `${name}/records/pr`, type: "tekton.dev/v1.PipelineRun", status: S.SUCCESS, startTime: { seconds: 1700000000n + BigInt(i), nanos: 123_456_000 } } } : {}),
      },
    });
    if (i % 4 !== 3) {
      const doc = { kind: "PipelineRun", metadata: { name: `run-${i}`, labels: { i: String(i) } }, big: 12345678901234567890, nested: { a: [1, 2.5, null, true], s: "\u00e9\n" } };
      await c.createRecord({ parent: name, record: { name: `${name}/records/pr`, data: { type: "tekton.dev/v1.PipelineRun", value: enc.encode(JSON.stringify(doc)) } } });
      await c.createRecord({ parent: name, record: { name: `${name}/records/tr`, data: { type: "tekton.dev/v1.TaskRun", value: enc.encode('{"kind":"TaskRun"}') } } });
    }
    if (i % 10 === 0) await c.updateRecord({ record: { name: `${name}/records/tr`, data: { type: "tekton.dev/v1.TaskRun", value: enc.encode('{"kind":"TaskRun","status":"done"}') } } });
  }
}, 300_000);

afterEach(async () => {
  if (!source?.running) await killAllProcesses();
});

afterAll(async () => {
  if (source?.running) await source.stop();
  await killAllProcesses();
  if (dir) removeDir(dir);
});

test("export -> import into a fresh database gives identical results and records; importing twice changes nothing", async () => {
  const file = join(dir, "export.ndjson");
  const ex = await cli(["export", "--output", file, "--db", join(dir, "source.db")]);
  expect({ code: ex.code, stdout: ex.stdout }).toEqual({ code: 0, stdout: "" });
  const text = readFileSync(file, "utf8");
  const lines = text.trimEnd().split("\n");
  expect(lines.filter((l) => l.startsWith('{"result":'))).toHaveLength(120);
  expect(lines.filter((l) => l.startsWith('{"record":'))).toHaveLength(180);

  const target = join(dir, "target.db");
  const im = await cli(["import", "--input", file, "--db", target]);
  expect({ code: im.code, stderr: im.stderr }).toEqual({ code: 0, stderr: "" });
  expect(im.stdout).toContain("results: 120 new, 0 updated, 0 unchanged; records: 180 new, 0 updated, 0 unchanged; 0 skipped");
  const again = await cli(["import", "--input", file, "--db", target]);
  expect(again.stdout).toContain("results: 0 new, 0 updated, 120 unchanged; records: 0 new, 0 updated, 180 unchanged; 0 skipped");

  // The fresh instance exports exactly what the source did (to stdout this time).
  const back = await cli(["export", "--db", target]);
  expect(back.code).toBe(0);
  expect(back.stdout).toBe(text);

  // And serves the same answers.
  const t = await startHindsight({ cmd: [binary], cwd: dir, db: target });
  try {
    const a = source.client();
    const b = t.client();
    for (const name of ["ci/results/run-0", "team-a/results/run-1", "ci/results/run-3"]) expect(await b.getResult({ name })).toEqual(await a.getResult({ name }));
    for (const name of ["ci/results/run-0/records/pr", "ci/results/run-0/records/tr"]) expect(await b.getRecord({ name })).toEqual(await a.getRecord({ name }));
    // The side tables are filled by the import too: label filters find the rows.
    const f = 'data.metadata.labels["i"] == "42"';
    expect((await b.listRecords({ parent: "-/results/-", filter: f })).records.map((r) => r.name)).toEqual(["ci/results/run-42/records/pr"]);
  } finally {
    expect((await t.stop()).code).toBe(0);
  }
}, 120_000);

test("a newer export updates what changed; a bad line or an orphan record is skipped and reported, the rest imported", async () => {
  const target = join(dir, "partial.db");
  const file = join(dir, "mixed.ndjson");
  const all = readFileSync(join(dir, "export.ndjson"), "utf8").trimEnd().split("\n");
  const firstResult = all[0]!;
  const orphan = all.find((l) => l.includes('"name":"team-a/results/run-1/records/pr"') || l.includes('"name":"team-a/results/run-2/records/pr"'))!;
  writeFileSync(file, [firstResult, "{not json", orphan, '{"other":1}', ""].join("\n"));
  const r = await cli(["import", "--input", file, "--db", target]);
  expect(r.code).toBe(1);
  expect(r.stderr).toContain("skipped line 2: not JSON");
  expect(r.stderr).toMatch(/skipped line 3: its result team-a\/results\/run-\d is not in the database/);
  expect(r.stderr).toContain('skipped line 4: expected an object with either "result" or "record"');
  expect(r.stdout).toContain("results: 1 new");

  // The source changes; a new export brings the copy up to date.
  await source.client().updateRecord({ record: { name: "ci/results/run-0/records/tr", data: { type: "tekton.dev/v1.TaskRun", value: enc.encode('{"kind":"TaskRun","v":2}') } } });
  const file2 = join(dir, "export2.ndjson");
  expect((await cli(["export", "-o", file2, "--db", join(dir, "source.db")])).code).toBe(0);
  const up = await cli(["import", "-i", file2, "--db", join(dir, "target.db")]);
  expect(up.stdout).toContain("records: 0 new, 1 updated, 179 unchanged");
  expect((await cli(["export", "--db", join(dir, "target.db")])).stdout).toBe(readFileSync(file2, "utf8"));
}, 120_000);

test("--from-results-api copies every result and record of a running server over REST, page by page", async () => {
  const target = join(dir, "from-api.db");
  const r = await cli(["import", "--from-results-api", source.http, "--db", target]);
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
  expect(r.stdout).toContain("results: 120 new");
  expect(r.stdout).toContain("records: 180 new");
  const src = await cli(["export", "--db", join(dir, "source.db")]);
  const copy = await cli(["export", "--db", target]);
  // The same objects (REST sorts annotation keys, so compare parsed lines).
  const parse = (t: string) => t.trimEnd().split("\n").map((l) => JSON.parse(l) as unknown);
  expect(parse(copy.stdout)).toEqual(parse(src.stdout));
  const again = await cli(["import", "--from-results-api", `${source.http}/apis/results.tekton.dev/v1alpha2/`, "--db", target]);
  expect(again.stdout).toContain("results: 0 new, 0 updated, 120 unchanged; records: 0 new, 0 updated, 180 unchanged");

  const bad = await cli(["import", "--from-results-api", "http://127.0.0.1:1", "--db", target]);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toMatch(/^hindsight: GET http:\/\/127\.0\.0\.1:1\/apis\/results\.tekton\.dev\/v1alpha2\/parents\/-\/results\?page_size=100: .*\(after 0 item\(s\); importing again resumes safely\)\n$/);
}, 120_000);
