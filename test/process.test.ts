/**
 * Hindsight as a real process: real SQLite files in temporary directories,
 * real signals. Restart, graceful shutdown under load, kill -9 durability,
 * the command line and the gRPC receive limit.
 */
import { Database } from "bun:sqlite";
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { SCHEMA_VERSION } from "../src/store/migrations.ts";
import pkg from "../package.json" with { type: "json" };
import type { Record as RecordMsg, Result } from "../src/gen/resources_pb.ts";
import { RecordSummary_Status } from "../src/gen/resources_pb.ts";
import type { Client } from "./support/grpc-client.ts";
import { Code, grpcError } from "./support/grpc-client.ts";
import type { Results } from "../src/gen/api_pb.ts";
import {
  freePort,
  killAllProcesses,
  sleep,
  removeDir,
  runCli,
  startHindsight,
  tempDir,
  type HindsightProcess,
} from "./support/process.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

const dirs: string[] = [];
function newDir(): string {
  const d = tempDir();
  dirs.push(d);
  return d;
}

afterEach(async () => {
  await killAllProcesses();
});

afterAll(() => {
  for (const d of dirs) removeDir(d);
});

// ---- real-shaped data ------------------------------------------------------

const TASKRUN = "tekton.dev/v1.TaskRun";
const PIPELINERUN = "tekton.dev/v1.PipelineRun";
/** The type upstream decodes strictly; Hindsight checks its shape. */
const STRICT_TASKRUN = "pipeline.tekton.dev/TaskRun";

function isoAt(offsetSec: number): string {
  return new Date(Date.UTC(2025, 4, 17, 9, 30, 0) + offsetSec * 1000).toISOString().replace(".000Z", "Z");
}

/** A TaskRun document as the Tekton watcher stores it (trimmed, but with every kind of JSON value). */
function taskRun(ns: string, name: string, seq: number, pipelineRun = "build-and-push-x7k2p") {
  return {
    apiVersion: "tekton.dev/v1",
    kind: "TaskRun",
    metadata: {
      name,
      namespace: ns,
      uid: `5f0c3b2e-8d4a-4c1e-9b7f-${String(seq).padStart(12, "0")}`,
      resourceVersion: String(184467 + seq),
      generation: 1,
      creationTimestamp: isoAt(seq),
      labels: {
        "app.kubernetes.io/managed-by": "tekton-pipelines",
        "tekton.dev/pipeline": "build-and-push",
        "tekton.dev/pipelineRun": pipelineRun,
        "tekton.dev/pipelineTask": "build",
        "tekton.dev/task": "buildah",
      },
      annotations: {
        "results.tekton.dev/record": `${ns}/results/0c4a/records/${name}`,
        "pipeline.tekton.dev/release": "v0.59.2",
        "note": "étape terminée ✓ — \"quoted\"\nsecond line\ttab",
      },
      ownerReferences: [
        { apiVersion: "tekton.dev/v1", kind: "PipelineRun", name: pipelineRun, uid: "a1b2c3d4", controller: true, blockOwnerDeletion: true },
      ],
    },
    spec: {
      params: [
        { name: "IMAGE", value: `registry.example.com/team/app:${seq}` },
        { name: "BUILD_ARGS", value: ["--squash", "--layers=false"] },
      ],
      serviceAccountName: "pipeline",
      taskRef: { kind: "Task", name: "buildah" },
      timeout: "1h0m0s",
      workspaces: [{ name: "source", persistentVolumeClaim: { claimName: "source-pvc" } }],
    },
    status: {
      seq,
      conditions: [
        {
          type: "Succeeded",
          status: seq % 3 === 0 ? "False" : "True",
          reason: seq % 3 === 0 ? "Failed" : "Succeeded",
          message: seq % 3 === 0 ? `"step-build" exited with code 1` : "All Steps have completed executing",
          lastTransitionTime: isoAt(seq + 90),
        },
      ],
      podName: `${name}-pod`,
      startTime: isoAt(seq + 1),
      completionTime: isoAt(seq + 90),
      steps: [
        {
          name: "build",
          container: "step-build",
          imageID: "registry.example.com/buildah@sha256:" + "ab".repeat(32),
          terminated: { exitCode: seq % 3 === 0 ? 1 : 0, reason: "Completed", startedAt: isoAt(seq + 2), finishedAt: isoAt(seq + 89) },
        },
        { name: "push", container: "step-push", terminated: { exitCode: 0, reason: "Completed" }, ratio: 0.25, skipped: false, extra: null },
      ],
      results: [{ name: "IMAGE_DIGEST", type: "string", value: "sha256:" + "cd".repeat(32) }],
      provenance: { featureFlags: { enableAPIFields: "beta", maxResultSize: 4096, resultExtractionMethod: "termination-message" } },
    },
  };
}

function pipelineRun(ns: string, name: string, seq: number) {
  return {
    apiVersion: "tekton.dev/v1",
    kind: "PipelineRun",
    metadata: {
      name,
      namespace: ns,
      uid: `9e8d7c6b-0000-4000-8000-${String(seq).padStart(12, "0")}`,
      labels: { "tekton.dev/pipeline": "build-and-push", "triggers.tekton.dev/eventlistener": "github" },
      annotations: { "results.tekton.dev/result": `${ns}/results/${name}` },
      creationTimestamp: isoAt(seq),
    },
    spec: {
      pipelineRef: { name: "build-and-push" },
      params: [{ name: "revision", value: "3f9a1c0e" }, { name: "url", value: "https://github.com/example/app" }],
      taskRunTemplate: { serviceAccountName: "pipeline" },
      timeouts: { pipeline: "1h0m0s" },
    },
    status: {
      seq,
      conditions: [{ type: "Succeeded", status: "Unknown", reason: "Running", message: "Tasks Completed: 1 (Failed: 0, Cancelled 0), Incomplete: 2, Skipped: 0" }],
      startTime: isoAt(seq + 1),
      childReferences: [
        { apiVersion: "tekton.dev/v1", kind: "TaskRun", name: `${name}-fetch`, pipelineTaskName: "fetch" },
        { apiVersion: "tekton.dev/v1", kind: "TaskRun", name: `${name}-build`, pipelineTaskName: "build" },
      ],
    },
  };
}

const bytes = (doc: unknown) => enc.encode(JSON.stringify(doc));
const parsed = (r: RecordMsg) => JSON.parse(dec.decode(r.data!.value)) as unknown;

async function listAllRecords(c: Client<typeof Results>, parent: string, pageSize = 7): Promise<RecordMsg[]> {
  const out: RecordMsg[] = [];
  let pageToken = "";
  do {
    const page = await c.listRecords({ parent, pageSize, pageToken }, { deadlineMs: 30_000 });
    out.push(...page.records);
    pageToken = page.nextPageToken;
  } while (pageToken !== "");
  return out;
}

const walPath = (db: string) => `${db}-wal`;
const walSize = (db: string) => (existsSync(walPath(db)) ? statSync(walPath(db)).size : 0);

/** integrity_check and foreign_key_check on the file, through a connection of the test's own. */
function checkFile(dbPath: string): { integrity: string[]; foreignKeyViolations: unknown[]; results: number; records: number } {
  const db = new Database(dbPath, { readonly: true });
  try {
    const integrity = db.query<{ integrity_check: string }, []>("PRAGMA integrity_check").all().map((r) => r.integrity_check);
    const foreignKeyViolations = db.query("PRAGMA foreign_key_check").all();
    const results = db.query<{ n: number }, []>("SELECT count(*) AS n FROM results").get()!.n;
    const records = db.query<{ n: number }, []>("SELECT count(*) AS n FROM records").get()!.n;
    return { integrity, foreignKeyViolations, results, records };
  } finally {
    db.close();
  }
}

function expectCleanExit(hp: HindsightProcess, exit: { code: number | null; signal: string | null }) {
  if (exit.code !== 0) throw new Error(`expected exit code 0, got ${JSON.stringify(exit)}\nstderr:\n${hp.stderr}`);
  const msgs = hp.logLines().map((l) => l.msg);
  expect(msgs).toContain("shutting down");
  expect(msgs).toContain("stopped");
  // A clean shutdown logs no errors (for example writes refused by a closed store).
  expect(hp.logLines().filter((l) => l.level === "error")).toEqual([]);
}

// ---- restart ---------------------------------------------------------------

describe("restart", () => {
  test("results and records written before a SIGTERM are read back intact after a restart", async () => {
    const dir = newDir();
    const db = join(dir, "h.db");
    const ns = "ci-team";

    const first = await startHindsight({ db });
    const c = first.client();
    const results = new Map<string, Result>();
    const records = new Map<string, RecordMsg>();
    const sent = new Map<string, { type: string; doc: unknown }>();

    for (let i = 0; i < 3; i++) {
      const name = `${ns}/results/pr-${i}`;
      const r = await c.createResult({
        parent: ns,
        result: {
          name,
          annotations: { "tekton.dev/pipeline": "build-and-push", "object.metadata.name": `build-and-push-${i}` },
        },
      });
      results.set(name, r);
      const pr = pipelineRun(ns, `build-and-push-${i}`, i);
      const prRec = await c.createRecord({
        parent: name,
        record: { name: `${name}/records/pipelinerun`, data: { type: PIPELINERUN, value: bytes(pr) } },
      });
      records.set(prRec.name, prRec);
      sent.set(prRec.name, { type: PIPELINERUN, doc: pr });
      for (let j = 0; j < 4; j++) {
        const type = j === 3 ? STRICT_TASKRUN : TASKRUN;
        const doc = taskRun(ns, `build-and-push-${i}-task-${j}`, i * 10 + j, `build-and-push-${i}`);
        const rec = await c.createRecord({
          parent: name,
          record: { name: `${name}/records/task-${j}`, data: { type, value: bytes(doc) } },
        });
        records.set(rec.name, rec);
        sent.set(rec.name, { type, doc });
      }
    }
    // Updates: a record's data replaced, and a result's annotations and summary.
    for (const i of [0, 2]) {
      const name = `${ns}/results/pr-${i}/records/task-1`;
      const doc = taskRun(ns, `build-and-push-${i}-task-1`, 500 + i);
      const updated = await c.updateRecord({
        record: { name, data: { type: TASKRUN, value: bytes(doc) } },
        etag: records.get(name)!.etag,
      });
      expect(updated.etag).not.toBe(records.get(name)!.etag);
      records.set(name, updated);
      sent.set(name, { type: TASKRUN, doc });
    }
    const r1 = `${ns}/results/pr-1`;
    const updatedResult = await c.updateResult({
      name: r1,
      etag: results.get(r1)!.etag,
      result: {
        name: r1,
        annotations: { "tekton.dev/pipeline": "build-and-push", reviewed: "yes" },
        summary: {
          record: `${r1}/records/pipelinerun`,
          type: PIPELINERUN,
          status: RecordSummary_Status.SUCCESS,
          startTime: { seconds: 1_747_474_200n, nanos: 123_456_000 },
          endTime: { seconds: 1_747_474_500n, nanos: 0 },
          annotations: { branch: "main" },
        },
      },
    });
    results.set(r1, updatedResult);

    // The writes are in the WAL while the server runs, so an empty WAL after
    // the stop means the shutdown checkpointed it.
    expect(walSize(db)).toBeGreaterThan(0);
    const exit = await first.stop("SIGTERM");
    expectCleanExit(first, exit);
    expect(walSize(db)).toBe(0);
    const file = checkFile(db);
    expect(file.integrity).toEqual(["ok"]);
    expect(file.foreignKeyViolations).toEqual([]);
    expect(file.results).toBe(3);
    expect(file.records).toBe(15);

    const second = await startHindsight({ db });
    const c2 = second.client();
    for (const [name, want] of results) {
      expect(await c2.getResult({ name })).toEqual(want);
    }
    for (const [name, want] of records) {
      const got = await c2.getRecord({ name });
      expect({ ...got, data: undefined }).toEqual({ ...want, data: undefined });
      expect(got.data?.type).toBe(sent.get(name)!.type);
      expect(parsed(got)).toEqual(sent.get(name)!.doc);
      expect(parsed(got)).toEqual(parsed(want));
    }
    const listed = await listAllRecords(c2, `${ns}/results/-`);
    expect(listed.map((r) => r.name).sort()).toEqual([...records.keys()].sort());
    for (const r of listed) expect(parsed(r)).toEqual(sent.get(r.name)!.doc);
    const listedResults = await c2.listResults({ parent: ns });
    expect(listedResults.results.map((r) => r.name).sort()).toEqual([...results.keys()].sort());

    // Etags survive the restart: an update conditioned on the pre-restart etag succeeds.
    const name = `${ns}/results/pr-1/records/task-0`;
    const after = await c2.updateRecord({
      record: { name, data: { type: TASKRUN, value: bytes(taskRun(ns, "again", 900)) } },
      etag: records.get(name)!.etag,
    });
    expect(parsed(after)).toEqual(taskRun(ns, "again", 900));

    expectCleanExit(second, await second.stop("SIGTERM"));
    expect(walSize(db)).toBe(0);
  }, 120_000);
});

// ---- SIGTERM under load ----------------------------------------------------

describe("SIGTERM during in-flight calls", () => {
  test("calls in flight are finished, later ones refused; every acknowledged CreateRecord survives; exit 0", async () => {
    const dir = newDir();
    const db = join(dir, "h.db");
    const ns = "burst";
    const parent = `${ns}/results/r`;

    const first = await startHindsight({ db });
    const c = first.client();
    await c.createResult({ parent: ns, result: { name: parent } });

    const acked = new Map<string, RecordMsg>();
    const failed: Array<{ name: string; code: number; details: string }> = [];
    let firstAck!: () => void;
    const gotFirstAck = new Promise<void>((r) => (firstAck = r));
    const create = (id: string, i: number) => {
      const name = `${parent}/records/${id}`;
      return c
        .createRecord(
          { parent, record: { name, data: { type: TASKRUN, value: bytes(taskRun(ns, id, i)) } } },
          { deadlineMs: 60_000 },
        )
        .then(
          (rec) => {
            acked.set(name, rec);
            firstAck();
          },
          (e: { code: number; details: string }) => {
            failed.push({ name, code: e.code, details: e.details });
          },
        );
    };
    const N = 1000;
    const calls = Array.from({ length: N }, (_, i) => create(`burst-${i}`, i));
    await gotFirstAck;
    first.signal("SIGTERM");
    // Keep calling while the server shuts down: each call is either served
    // in full or refused, never half done.
    let late = 0;
    while (first.running && late < 5000) {
      calls.push(create(`late-${late}`, late));
      late++;
      await sleep(2);
    }
    const exit = await first.waitExit(60_000);
    await Promise.all(calls);
    expectCleanExit(first, exit);
    expect(acked.size + failed.length).toBe(N + late);
    expect(acked.size).toBeGreaterThan(0);
    // Calls that did not get through were refused as unavailable, never failed inside.
    for (const f of failed) expect([Code.UNAVAILABLE, Code.CANCELLED]).toContain(f.code);
    expect(walSize(db)).toBe(0);

    const second = await startHindsight({ db });
    const c2 = second.client();
    const stored = new Map((await listAllRecords(c2, parent, 1000)).map((r) => [r.name, r]));
    for (const [name, want] of acked) {
      const got = stored.get(name);
      if (!got) throw new Error(`acknowledged record ${name} is missing after the restart`);
      expect(got.etag).toBe(want.etag);
      expect(parsed(got)).toEqual(parsed(want));
    }
    // Graceful means no call was carried out without its client hearing about it.
    const unacked = [...stored.keys()].filter((n) => !acked.has(n));
    expect(unacked).toEqual([]);
    expectCleanExit(second, await second.stop("SIGTERM"));
  }, 120_000);
});

// ---- kill -9 ---------------------------------------------------------------

interface Ack {
  seq: number;
  etag: string;
}

/**
 * CreateResult -> CreateRecord -> UpdateRecord -> UpdateRecord sequences,
 * SEQUENCES in all. A few start at once and every acknowledgement starts
 * another, so the burst ramps up to several hundred concurrent sequences and
 * its acknowledgements mix all four kinds of write from early on. The server
 * is SIGKILLed when `killAfter` writes have been acknowledged; every
 * acknowledged write must be there after a restart.
 */
async function killNineRun(killAfter: number) {
  const dir = newDir();
  const db = join(dir, "h.db");
  const ns = "k9";
  const SEQUENCES = 600;
  const INITIAL = 8;
  const UPDATES = 2;

  const first = await startHindsight({ db });
  const c = first.client();
  const resultAcks = new Map<string, string>(); // result name -> etag
  const recordAcks = new Map<string, Ack[]>(); // record name -> acks, in order
  const submitted = new Map<string, number>(); // record name -> highest seq sent
  const running: Array<Promise<void>> = [];
  let started = 0;
  let acks = 0;
  let killedAt = -1;
  let failures = 0;

  const ack = () => {
    acks++;
    if (acks === killAfter) {
      killedAt = acks;
      first.signal("SIGKILL");
    }
    if (killedAt < 0 && started < SEQUENCES) startSequence();
  };
  const sequence = async (i: number) => {
    const result = `${ns}/results/run-${i}`;
    const record = `${result}/records/taskrun`;
    try {
      const r = await c.createResult({ parent: ns, result: { name: result, annotations: { i: String(i) } } }, { deadlineMs: 60_000 });
      resultAcks.set(result, r.etag);
      ack();
      submitted.set(record, 0);
      let rec = await c.createRecord(
        { parent: result, record: { name: record, data: { type: TASKRUN, value: bytes(taskRun(ns, `run-${i}`, 0)) } } },
        { deadlineMs: 60_000 },
      );
      recordAcks.set(record, [{ seq: 0, etag: rec.etag }]);
      ack();
      for (let seq = 1; seq <= UPDATES; seq++) {
        submitted.set(record, seq);
        rec = await c.updateRecord(
          { record: { name: record, data: { type: TASKRUN, value: bytes(taskRun(ns, `run-${i}`, seq)) } }, etag: rec.etag },
          { deadlineMs: 60_000 },
        );
        recordAcks.get(record)!.push({ seq, etag: rec.etag });
        ack();
      }
    } catch (e) {
      failures++;
      const code = (e as { code?: number }).code;
      if (killedAt < 0) throw new Error(`call failed before the kill: ${(e as Error).message}`);
      // The kill breaks connections: unavailable, or a reset stream.
      if (code !== Code.UNAVAILABLE && code !== Code.CANCELLED && code !== Code.INTERNAL) throw e;
    }
  };
  function startSequence() {
    running.push(sequence(started++));
  }
  for (let i = 0; i < INITIAL; i++) startSequence();
  // Sequences started by acks are added while we wait; settle them all.
  for (let settled = 0; settled < running.length; ) {
    const batch = running.slice(settled);
    settled = running.length;
    const outcomes = await Promise.allSettled(batch);
    const bad = outcomes.find((o) => o.status === "rejected");
    if (bad) throw (bad as PromiseRejectedResult).reason;
  }
  const exit = await first.waitExit(30_000);
  expect(exit.signal).toBe("SIGKILL");
  expect(killedAt).toBe(killAfter);
  // The killed process left its WAL behind: the restart has to recover from it.
  expect(walSize(db)).toBeGreaterThan(0);
  // The kill landed in the middle of the burst, not after it.
  expect(failures).toBeGreaterThan(0);
  expect(acks).toBeLessThan(SEQUENCES * (2 + UPDATES));

  const second = await startHindsight({ db });
  const c2 = second.client();
  const lost = (what: string) => (e: unknown) => {
    throw new Error(`acknowledged ${what} is not there after the restart: ${(e as Error).message}`);
  };
  await Promise.all(
    [...resultAcks].map(async ([name, etag]) => {
      const got = await c2.getResult({ name }).catch(lost(`result ${name}`));
      expect(got.etag).toBe(etag);
    }),
  );
  await Promise.all(
    [...recordAcks].map(async ([name, list]) => {
      const last = list[list.length - 1]!;
      const got = await c2.getRecord({ name }).catch(lost(`record ${name}`));
      const doc = parsed(got) as { status: { seq: number } };
      const seq = doc.status.seq;
      // The stored state is the last acknowledged one, or the one sent after it
      // whose acknowledgement the kill cut off; never an older one.
      expect(seq).toBeGreaterThanOrEqual(last.seq);
      expect(seq).toBeLessThanOrEqual(submitted.get(name)!);
      if (seq === last.seq) expect(got.etag).toBe(last.etag);
      else expect(got.etag).not.toBe(last.etag);
      expect(doc).toEqual(JSON.parse(JSON.stringify(taskRun(ns, name.split("/")[2]!, seq))));
    }),
  );

  // The file itself, read by a connection of the test's own while the server runs.
  const file = checkFile(db);
  expect(file.integrity).toEqual(["ok"]);
  expect(file.foreignKeyViolations).toEqual([]);
  expect(file.results).toBeGreaterThanOrEqual(resultAcks.size);
  expect(file.records).toBeGreaterThanOrEqual(recordAcks.size);
  expect(file.results).toBeLessThanOrEqual(started);
  expectCleanExit(second, await second.stop("SIGTERM"));
  const updates = [...recordAcks.values()].filter((l) => l.length > 1).length;
  return { acks, resultAcks: resultAcks.size, recordAcks: recordAcks.size, updates };
}

describe("kill -9 durability", () => {
  for (const killAfter of [50, 300, 1000]) {
    test(`every write acknowledged before a SIGKILL after ${killAfter} acks survives`, async () => {
      const r = await killNineRun(killAfter);
      expect(r.acks).toBeGreaterThanOrEqual(killAfter);
      // Records and their updates were acknowledged, not only results.
      expect(r.recordAcks).toBeGreaterThan(0);
      expect(r.updates).toBeGreaterThan(0);
    }, 180_000);
  }
});

// ---- command line ----------------------------------------------------------

describe("bounded heap", () => {
  test("serve re-executes itself with BUN_JSC_forceRAMSize and MIMALLOC_PURGE_DELAY, keeping its PID; an operator's own values are kept", async () => {
    const environ = (pid: number) => dec.decode(readFileSync(`/proc/${pid}/environ`)).split("\0");
    const cases: Array<{ env?: Record<string, string>; has: string[]; lacks?: string }> = [
      { has: [`BUN_JSC_forceRAMSize=${1024 * 1024 * 1024}`, "MIMALLOC_PURGE_DELAY=1000"] },
      // One variable set by the operator: the other is still added, theirs kept.
      { env: { BUN_JSC_forceRAMSize: "536870912" }, has: ["BUN_JSC_forceRAMSize=536870912", "MIMALLOC_PURGE_DELAY=1000"] },
      { env: { MIMALLOC_PURGE_DELAY: "10", HINDSIGHT_HEAP_RAM: "0" }, has: ["MIMALLOC_PURGE_DELAY=10"], lacks: "BUN_JSC_forceRAMSize=" },
    ];
    for (const [i, c] of cases.entries()) {
      const h = await startHindsight({ db: join(newDir(), `heap${i}.db`), env: c.env });
      try {
        // The PID we spawned is the one serving: execve replaced the image in place.
        for (const v of c.has) expect(environ(h.proc.pid)).toContain(v);
        if (c.lacks) expect(environ(h.proc.pid).some((v) => v.startsWith(c.lacks!))).toBe(false);
        expect((await h.client().listResults({ parent: "-" })).results).toEqual([]);
      } finally {
        expect((await h.stop("SIGTERM")).code).toBe(0);
      }
    }
  });
});

describe("command line", () => {
  test("--help exits 0 and documents serve, the flags and their environment variables", async () => {
    const r = await runCli(["--help"]);
    expect(r.code).toBe(0);
    for (const s of ["serve", "--db", "--grpc-listen", "--grpc-max-receive-size", "HINDSIGHT_DB", "HINDSIGHT_GRPC_LISTEN", "./data/hindsight.db"]) {
      expect(r.stdout).toContain(s);
    }
    const sub = await runCli(["serve", "--help"]);
    expect(sub.code).toBe(0);
    expect(sub.stdout).toContain("--grpc-listen");
  });

  test("--version prints the version from package.json", async () => {
    const r = await runCli(["--version"]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(`hindsight ${pkg.version} (commit dev)`);
    // `version` adds the schema version this binary runs.
    const v = await runCli(["version", "--db", join(newDir(), "absent.db")]);
    expect(v.code).toBe(0);
    expect(v.stdout).toBe(`${r.stdout}schema version ${SCHEMA_VERSION}\n`);
  });

  test("an unknown flag or command exits non-zero with a message naming it", async () => {
    const dir = newDir();
    const r = await runCli(["serve", "--db", join(dir, "h.db"), "--frobnicate", "1"], { cwd: dir });
    expect(r.code).not.toBe(0);
    expect(r.code).not.toBeNull();
    expect(r.stderr).toContain("--frobnicate");
    expect(existsSync(join(dir, "h.db"))).toBe(false);

    const top = await runCli(["--frobnicate"], { cwd: dir });
    expect(top.code).not.toBe(0);
    expect(top.code).not.toBeNull();
    expect(top.stderr).toContain("--frobnicate");

    // No command at all: usage, and a non-zero exit (nothing was done).
    const none = await runCli([], { cwd: dir });
    expect(none.code).not.toBe(0);
    expect(none.code).not.toBeNull();
    expect(none.stdout + none.stderr).toContain("hindsight serve");
  });

  test("a port already in use makes serve exit non-zero naming the address; the server holding it carries on", async () => {
    const dir = newDir();
    const holder = await startHindsight({ db: join(dir, "a.db") });
    const second = await runCli(["serve", "--db", join(dir, "b.db"), "--grpc-listen", holder.address], { cwd: dir });
    expect(second.code).not.toBe(0);
    expect(second.code).not.toBeNull();
    expect(second.code).toBe(2);
    expect(second.stderr).toContain(holder.address);
    // Every line is either a JSON log line or hindsight's one-line message; no stack trace.
    for (const line of second.stderr.trim().split("\n")) {
      if (!line.startsWith("hindsight: ")) expect(() => JSON.parse(line)).not.toThrow();
    }
    expect(second.stderr).not.toMatch(/\bat .*:\d+:\d+/);
    await holder.client().createResult({ parent: "still", result: { name: "still/results/here" } });
    expectCleanExit(holder, await holder.stop());
  }, 120_000);

  test("a REST port already in use makes serve exit 2 naming --http-listen", async () => {
    const dir = newDir();
    const holder = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("taken") });
    try {
      const r = await runCli(["serve", "--db", join(dir, "c.db"), "--grpc-listen", "127.0.0.1:0", "--http-listen", `127.0.0.1:${holder.port}`], { cwd: dir });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`127.0.0.1:${holder.port}`);
      expect(r.stderr).toContain("--http-listen");
      expect(r.stderr).not.toMatch(/\bat .*:\d+:\d+/);
    } finally {
      holder.stop(true);
    }
  }, 60_000);

  test("a bad --grpc-listen or size value exits non-zero naming the setting, before touching the database", async () => {
    const dir = newDir();
    const db = join(dir, "h.db");
    const r = await runCli(["serve", "--db", db, "--grpc-listen", "nonsense"], { cwd: dir });
    expect(r.code).not.toBe(0);
    expect(r.code).not.toBeNull();
    expect(r.stderr).toContain("--grpc-listen");
    expect(r.stderr).toContain("nonsense");
    expect(existsSync(db)).toBe(false);

    const port = await runCli(["serve", "--db", db, "--grpc-listen", "127.0.0.1:70000"], { cwd: dir });
    expect(port.code).not.toBe(0);
    expect(port.stderr).toContain("--grpc-listen");

    const env = await runCli(["serve", "--db", db], { cwd: dir, env: { HINDSIGHT_GRPC_LISTEN: "nonsense" } });
    expect(env.code).not.toBe(0);
    expect(env.stderr).toContain("HINDSIGHT_GRPC_LISTEN");

    const size = await runCli(["serve", "--db", db, "--grpc-max-receive-size", "lots"], { cwd: dir });
    expect(size.code).not.toBe(0);
    expect(size.stderr).toContain("--grpc-max-receive-size");
    expect(existsSync(db)).toBe(false);
  });

  test("HINDSIGHT_DB and HINDSIGHT_GRPC_LISTEN are honoured, and flags win over them", async () => {
    const dir = newDir();
    const envDb = join(dir, "from-env", "env.db");
    const port = await freePort();
    const hp = await startHindsight({
      db: null,
      listenFlag: false,
      port,
      cwd: dir,
      env: { HINDSIGHT_DB: envDb, HINDSIGHT_GRPC_LISTEN: `127.0.0.1:${port}` },
    });
    const c = hp.client();
    await c.createResult({ parent: "env", result: { name: "env/results/one" } });
    expect(hp.logLines().find((l) => l.msg === "hindsight serving")).toMatchObject({ db: envDb, grpcPort: port });
    expectCleanExit(hp, await hp.stop());
    expect(existsSync(envDb)).toBe(true);
    expect(checkFile(envDb).results).toBe(1);
    expect(existsSync(join(dir, "data"))).toBe(false);

    // Flags take precedence over the environment.
    const flagDb = join(dir, "flag.db");
    const hp2 = await startHindsight({
      db: flagDb,
      cwd: dir,
      env: { HINDSIGHT_DB: envDb, HINDSIGHT_GRPC_LISTEN: "127.0.0.1:1" },
    });
    await hp2.client().createResult({ parent: "flag", result: { name: "flag/results/two" } });
    expectCleanExit(hp2, await hp2.stop());
    expect(checkFile(flagDb).results).toBe(1);
    expect(checkFile(envDb).results).toBe(1);
  }, 120_000);

  test("without --db the database is ./data/hindsight.db under the working directory; SIGINT stops it cleanly", async () => {
    const cwd = newDir();
    const hp = await startHindsight({ db: null, cwd });
    await hp.client().createResult({ parent: "dflt", result: { name: "dflt/results/one" } });
    const expected = join(cwd, "data", "hindsight.db");
    expect(existsSync(expected)).toBe(true);
    expectCleanExit(hp, await hp.stop("SIGINT"));
    expect(checkFile(expected).results).toBe(1);
  }, 120_000);
});

// ---- gRPC receive limit ----------------------------------------------------

describe("gRPC receive limit", () => {
  test("with --grpc-max-receive-size 1MiB a 2 MB record is refused with RESOURCE_EXHAUSTED and a 900 KB one is stored", async () => {
    const dir = newDir();
    const db = join(dir, "h.db");
    const hp = await startHindsight({ db, args: ["--grpc-max-receive-size", "1MiB"] });
    const c = hp.client();
    const parent = "big/results/r";
    await c.createResult({ parent: "big", result: { name: parent } });

    const doc = (size: number) => {
      const d = taskRun("big", "log-heavy", 1);
      return { ...d, status: { ...d.status, podLog: "x".repeat(size - JSON.stringify(d).length - 20) } };
    };
    const tooBig = bytes(doc(2_000_000));
    expect(tooBig.length).toBeGreaterThan(1_900_000);
    const err = await grpcError(
      c.createRecord({ parent, record: { name: `${parent}/records/too-big`, data: { type: TASKRUN, value: tooBig } } }),
    );
    expect(err.code).toBe(Code.RESOURCE_EXHAUSTED);

    const fits = bytes(doc(900_000));
    expect(fits.length).toBeGreaterThan(880_000);
    expect(fits.length).toBeLessThan(1024 * 1024 - 1000);
    const ok = await c.createRecord({ parent, record: { name: `${parent}/records/fits`, data: { type: TASKRUN, value: fits } } });
    expect(ok.name).toBe(`${parent}/records/fits`);

    expect((await grpcError(c.getRecord({ name: `${parent}/records/too-big` }))).code).toBe(Code.NOT_FOUND);
    const got = await c.getRecord({ name: `${parent}/records/fits` });
    expect(parsed(got)).toEqual(JSON.parse(dec.decode(fits)));
    const all = await listAllRecords(c, parent);
    expect(all.map((r) => r.name)).toEqual([`${parent}/records/fits`]);
    expectCleanExit(hp, await hp.stop());
    expect(checkFile(db).records).toBe(1);
  }, 120_000);
});
