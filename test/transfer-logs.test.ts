/**
 * Issue 7: logs move with export and import. A real server with an uploaded
 * 5 MiB log, a captured TaskRun (two containers) and a PipelineRun whose log
 * is its TaskRun's; `hindsight export` while it runs, `hindsight import`
 * into a fresh file, and a server on that file answers GetLog (gRPC
 * v1alpha2 and v1alpha3, REST) and the Dashboard route byte for byte as the
 * source did. Importing twice changes nothing; an old export (no log lines)
 * still imports; a log line without its record and corrupt base64 are
 * reported with their line numbers.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Database } from "bun:sqlite";
import { Logs } from "../src/gen/api_pb.ts";
import { Logs as LogsV1alpha3 } from "../src/gen/log_pb.ts";
import { LOG_LINE_BYTES } from "../src/ops/log-lines.ts";
import { makeClient } from "./support/grpc-client.ts";
import { getLog, updateLog } from "./support/log-client.ts";
import { runCli } from "./support/process.ts";
import { startTestServer, tempDir, type TestServer } from "./support/server.ts";
import { json } from "./support/wire.ts";

let src: TestServer;
let dir = "";
const cli = (args: string[]) => runCli(args, { timeoutMs: 120_000 });
const PARENT = "ci";
const RESULT = `${PARENT}/results/build-1`;
/** The upload lives in a Result of its own (a TaskRun log beside the PipelineRun's would be part of it). */
const UPLOAD_RESULT = `${PARENT}/results/upload-1`;
const LOG_TYPE = "results.tekton.dev/v1alpha3.Log";
/** Log names and what GetLog must answer for them. */
const logs: Record<string, Buffer> = {};
const BIG = 5 * 1024 * 1024;

function bigText(n: number): Buffer {
  const words = ["compiling", "module", "ok", "PASS", "warning: unused", "ünïcode ✓", "step", "0x1f"];
  const parts: string[] = [];
  let len = 0;
  let x = 12345;
  while (len < n) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    const w = `${words[x % words.length]} ${x.toString(36)}${x % 7 === 0 ? "\n" : " "}`;
    parts.push(w);
    len += Buffer.byteLength(w);
  }
  return Buffer.from(parts.join("")).subarray(0, n);
}

async function logRecord(s: TestServer, id: string, resource: { kind: string; name: string; uid: string }, result = RESULT) {
  const doc = { kind: "Log", apiVersion: "results.tekton.dev/v1alpha3", metadata: { name: `${resource.name}-log`, namespace: PARENT, uid: id }, spec: { resource: { ...resource, namespace: PARENT }, type: "File" } };
  return s.client.createRecord({ parent: result, record: { name: `${result}/records/${id}`, data: { type: LOG_TYPE, value: json(doc) } } });
}

beforeAll(async () => {
  dir = tempDir("hindsight-transfer-logs-");
  src = await startTestServer();
  const c = src.client;
  await c.createResult({ parent: PARENT, result: { name: RESULT } });
  await c.createResult({ parent: PARENT, result: { name: UPLOAD_RESULT } });
  // An upload of 5 MiB in messages of 64 KiB.
  await logRecord(src, "up", { kind: "TaskRun", name: "upload", uid: "u-up" }, UPLOAD_RESULT);
  const big = bigText(BIG);
  const msgs = [];
  for (let o = 0; o < big.byteLength; o += 64 * 1024) msgs.push({ name: `${UPLOAD_RESULT}/logs/up`, data: big.subarray(o, o + 64 * 1024) });
  const lc = makeClient(Logs, src.address);
  try {
    await updateLog(lc.raw, msgs);
  } finally {
    lc.close();
  }
  // A captured TaskRun of a PipelineRun: two containers, the second's last line open.
  const cap = await logRecord(src, "cap", { kind: "TaskRun", name: "build-1-compile", uid: "u-tr" });
  const parts = await src.app.logs.captureParts(cap.uid, [
    { idx: 0, staging: false, label: "build", source: { namespace: PARENT, pod: "build-1-compile-pod", container: "step-build" } },
    { idx: 1, staging: false, label: "test", source: { namespace: PARENT, pod: "build-1-compile-pod", container: "step-test" } },
  ]);
  await src.app.logs.appendCaptured(parts[0]!.id, new TextEncoder().encode("compiling\nok\n"), { resume: '{"t":"2026-01-01T00:00:01Z"}' });
  await src.app.logs.appendCaptured(parts[0]!.id, new TextEncoder().encode("done\n"), { done: true });
  await src.app.logs.appendCaptured(parts[1]!.id, new TextEncoder().encode("PASS 3 tests\nno newline"), { done: true });
  await src.app.logs.completeCapture(cap.uid, cap.name);
  // The PipelineRun (its record, and its Log record without parts: its TaskRun's log with [task : step]).
  await c.createRecord({ parent: RESULT, record: { name: `${RESULT}/records/u-pr`, data: { type: "tekton.dev/v1.PipelineRun", value: json({ kind: "PipelineRun", status: { childReferences: [{ kind: "TaskRun", name: "build-1-compile", pipelineTaskName: "compile" }] } }) } } });
  const pr = await logRecord(src, "prlog", { kind: "PipelineRun", name: "build-1", uid: "u-pr" });
  await src.app.logs.completeCapture(pr.uid, pr.name);

  const v2 = makeClient(Logs, src.address);
  try {
    for (const name of [`${UPLOAD_RESULT}/logs/up`, `${RESULT}/logs/cap`, `${RESULT}/logs/prlog`]) logs[name] = (await getLog(v2.raw, name)).bytes;
  } finally {
    v2.close();
  }
  expect(logs[`${UPLOAD_RESULT}/logs/up`]!.equals(big)).toBe(true);
  expect(logs[`${RESULT}/logs/cap`]!.toString()).toBe("[build] compiling\n[build] ok\n[build] done\n[test] PASS 3 tests\n[test] no newline\n");
  expect(logs[`${RESULT}/logs/prlog`]!.toString()).toBe("[compile : build] compiling\n[compile : build] ok\n[compile : build] done\n[compile : test] PASS 3 tests\n[compile : test] no newline\n");
}, 120_000);

afterAll(async () => {
  await src?.close();
  if (dir) (await import("node:fs")).rmSync(dir, { recursive: true, force: true });
});

/** Everything a client reads of the logs, from a server. */
async function readAll(s: TestServer) {
  const v2 = makeClient(Logs, s.address);
  const v3 = makeClient(LogsV1alpha3, s.address);
  try {
    const out: Record<string, string> = {};
    for (const name of Object.keys(logs)) {
      out[`grpc v1alpha2 ${name}`] = (await getLog(v2.raw, name)).bytes.toString("base64");
      out[`grpc v1alpha3 ${name}`] = (await getLog(v3.raw, name)).bytes.toString("base64");
      const r = await fetch(`${s.http}/apis/results.tekton.dev/v1alpha2/parents/${name}`);
      out[`rest ${name}`] = `${r.status} ${Buffer.from(await r.arrayBuffer()).toString("base64")}`;
    }
    for (const c of ["step-build", "step-test"]) {
      const r = await fetch(`${s.http}/logs/${PARENT}/build-1-compile-pod/${c}`);
      out[`dashboard ${c}`] = `${r.status} ${await r.text()}`;
    }
    return out;
  } finally {
    v2.close();
    v3.close();
  }
}

const countParts = (db: string) => {
  const d = new Database(db, { readonly: true });
  try {
    return d.query("SELECT (SELECT count(*) FROM log_parts) AS parts, (SELECT count(*) FROM log_chunks) AS chunks").get();
  } finally {
    d.close();
  }
};

test("export -> import into a fresh instance: every log reads back byte for byte (GetLog gRPC and REST, Dashboard route); twice is once", async () => {
  const file = join(dir, "all.ndjson");
  const ex = await cli(["export", "--output", file, "--db", src.dbPath]);
  expect({ code: ex.code, stderr: ex.stderr }).toEqual({ code: 0, stderr: expect.stringContaining("exported") });
  const lines = readFileSync(file, "utf8").trimEnd().split("\n");
  const logLines = lines.filter((l) => l.startsWith('{"log":'));
  // 5 lines for the 5 MiB upload, one for each captured container; none for the PipelineRun's (it has no parts).
  expect(logLines).toHaveLength(7);
  expect(Math.max(...lines.map((l) => l.length))).toBeLessThan(LOG_LINE_BYTES * 1.34 + 1024);
  // Each log follows its record.
  const upAt = lines.findIndex((l) => l.includes('"name":"ci/results/upload-1/records/up"'));
  expect(lines.slice(upAt + 1, upAt + 6).every((l) => l.startsWith('{"log":{"record":"ci/results/upload-1/records/up"'))).toBe(true);

  const targetDir = tempDir("hindsight-transfer-logs-target-");
  const target = join(targetDir, "hindsight.db");
  const im = await cli(["import", "--input", file, "--db", target]);
  expect({ code: im.code, stderr: im.stderr }).toEqual({ code: 0, stderr: "" });
  expect(im.stdout).toContain(`log parts: 3 new, 0 replaced, 0 unchanged (${BIG + 18 + 23} bytes stored); 0 skipped`);
  const before = countParts(target);
  const again = await cli(["import", "--input", file, "--db", target]);
  expect(again.stdout).toContain("log parts: 0 new, 0 replaced, 3 unchanged (0 bytes stored); 0 skipped");
  expect(countParts(target)).toEqual(before);
  // The copy exports what the source did.
  expect((await cli(["export", "--db", target])).stdout).toBe(readFileSync(file, "utf8"));

  const t = await startTestServer({ dir: targetDir });
  try {
    const got = await readAll(t);
    expect(got).toEqual(await readAll(src));
    expect(got["dashboard step-test"]).toBe("200 PASS 3 tests\nno newline");
    expect(Buffer.from(got[`grpc v1alpha2 ${UPLOAD_RESULT}/logs/up`]!, "base64").equals(logs[`${UPLOAD_RESULT}/logs/up`]!)).toBe(true);
  } finally {
    await t.close();
  }
}, 180_000);

test("--no-logs leaves the logs out; such an export (the old format) still imports", async () => {
  const file = join(dir, "nologs.ndjson");
  expect((await cli(["export", "--no-logs", "--output", file, "--db", src.dbPath])).code).toBe(0);
  const text = readFileSync(file, "utf8");
  expect(text).not.toContain('{"log":');
  expect(text.trimEnd().split("\n")).toHaveLength(2 + 4);
  const target = join(dir, "nologs.db");
  const im = await cli(["import", "--input", file, "--db", target]);
  expect({ code: im.code, stderr: im.stderr }).toEqual({ code: 0, stderr: "" });
  expect(im.stdout).toContain("results: 2 new, 0 updated, 0 unchanged; records: 4 new, 0 updated, 0 unchanged; 0 skipped");
  expect(countParts(target)).toEqual({ parts: 0, chunks: 0 });
}, 60_000);

test("a log line whose record is missing, corrupt base64 and a cut-short log are reported with their line numbers", async () => {
  const lines = readFileSync(join(dir, "all.ndjson"), "utf8").trimEnd().split("\n");
  const capAt = lines.findIndex((l) => l.includes('"name":"ci/results/build-1/records/cap"'));
  const upAt = lines.findIndex((l) => l.includes('"name":"ci/results/upload-1/records/up"'));
  const o = JSON.parse(lines[capAt + 2]!) as { log: { data: string } };
  o.log.data = `${o.log.data.slice(0, 4)}!${o.log.data.slice(5)}`;
  const file = join(dir, "bad.ndjson");
  writeFileSync(
    file,
    [
      lines[capAt + 1]!, // line 1: a log before its record
      lines.find((l) => l.includes('"name":"ci/results/build-1"'))!, // line 2: the result
      lines[capAt]!, // line 3: the cap record
      lines[capAt + 1]!, // line 4: its first container
      JSON.stringify(o), // line 5: its second container, corrupt
      lines[upAt - 1]!, // line 6: the upload's result and record
      lines[upAt]!,
      lines[upAt + 1]!, // line 8: the upload's first MiB, then nothing
      "",
    ].join("\n"),
  );
  const target = join(dir, "bad.db");
  const r = await cli(["import", "--input", file, "--db", target]);
  expect(r.code).toBe(1);
  expect(r.stderr).toContain("skipped line 1: its record ci/results/build-1/records/cap is not in the database");
  expect(r.stderr).toContain("skipped line 5: log.data: not valid base64");
  expect(r.stderr).toContain("skipped line 8: log part 0 of ci/results/upload-1/records/up ends at byte 1048576 of 5242880");
  expect(r.stdout).toContain("log parts: 1 new, 0 replaced, 0 unchanged");
  expect(countParts(target)).toEqual({ parts: 1, chunks: 1 });
}, 60_000);

test("--from-results-api --with-logs copies each stored log over REST GetLog; run again, it fetches nothing", async () => {
  const targetDir = tempDir("hindsight-transfer-logs-api-");
  const target = join(targetDir, "hindsight.db");
  const r = await cli(["import", "--from-results-api", src.http, "--with-logs", "--db", target]);
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
  expect(r.stdout).toContain("log parts: 3 new, 0 replaced, 0 unchanged");
  const again = await cli(["import", "--from-results-api", src.http, "--with-logs", "--db", target]);
  expect(again.stdout).toContain("log parts: 0 new, 0 replaced, 3 unchanged (0 bytes stored)");
  const t = await startTestServer({ dir: targetDir });
  try {
    const got = await readAll(t);
    const want = await readAll(src);
    // The rendered logs are the same; the Dashboard's per-container view needs an export file (the API gives rendered logs only).
    for (const k of Object.keys(want)) if (!k.startsWith("dashboard")) expect([k, got[k]]).toEqual([k, want[k]]);
  } finally {
    await t.close();
  }
  const bad = await cli(["import", "--with-logs", "--db", target]);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain("--with-logs goes with --from-results-api");
}, 180_000);
