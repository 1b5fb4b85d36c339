// Log capture by the watcher against the fake Kubernetes API server, through
// the real app (SQLite file, gRPC, REST): logs survive the pod, reconnects
// and restarts neither duplicate nor lose lines, runs that never ran get a
// note, a PipelineRun's log is its TaskRuns', cleanup waits for the log.
import { afterEach, expect, test } from "bun:test";
import { Logs } from "../src/gen/api_pb.ts";
import type { ClusterSpec } from "../src/watch/config.ts";
import type { LogCaptureOptions } from "../src/watch/log-capture.ts";
import { FakeKube, type Obj } from "./support/fake-kube.ts";
import { makeClient } from "./support/grpc-client.ts";
import { sleep, testCluster, waitFor } from "./support/kube-sim.ts";
import { writeKubeconfig } from "./support/kubeconfig.ts";
import { getLog } from "./support/log-client.ts";
import { PodRun } from "./support/log-sim.ts";
import { startTestServer, tempDir, type TestServer } from "./support/server.ts";

interface Env {
  fake: FakeKube;
  srv: TestServer;
  restart(): Promise<void>;
}

const open: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of open.splice(0).reverse()) await c().catch(() => undefined);
});

const FAST: Partial<LogCaptureOptions> = { flushMs: 100, settleMs: 1000, backoffInitialMs: 50, backoffMaxMs: 300, childWaitMs: 5000 };

async function setup(cluster: Partial<ClusterSpec> = {}, capture: Partial<LogCaptureOptions> = {}): Promise<Env> {
  const fake = await new FakeKube({ tokens: ["t0ken"], bookmarkIntervalMs: 200 }).start();
  const dir = tempDir("hindsight-logs-");
  const kc = writeKubeconfig(dir, "kubeconfig", [{ name: "c1", server: fake.url, user: { token: "t0ken" } }]);
  const start = () => startTestServer({ dir, deps: { clusters: [testCluster("c1", kc, { logs: true, ...cluster })], logCapture: { ...FAST, ...capture } } });
  const env: Env = {
    fake,
    srv: await start(),
    async restart() {
      await env.srv.close({ keep: true });
      env.srv = await start();
    },
  };
  open.push(async () => {
    await env.srv.close();
    await fake.stop();
  });
  return env;
}

/** The stored log of a run, once stored (GetLog by run uid, as tkn-results asks). */
async function storedLog(e: Env, ns: string, result: string, runUid: string): Promise<string> {
  const client = makeClient(Logs, e.srv.address);
  try {
    const bytes = await waitFor(`the log of ${runUid} stored`, async () => (await getLog(client.raw, `${ns}/results/${result}/logs/${runUid}`)).bytes, 20_000, 100);
    return bytes.toString();
  } finally {
    client.close();
  }
}

const lines = (prefix: string, from: number, n: number) => Array.from({ length: n }, (_, i) => `${prefix} line ${from + i}\n`).join("");
const prefixed = (p: string, text: string) => text.split("\n").filter((l, i, a) => i < a.length - 1 || l !== "").map((l) => `[${p}] ${l}\n`).join("");

test("a pod deleted one second after completion still has its whole log, steps in order with [step] prefixes", async () => {
  const e = await setup();
  const run = new PodRun(e.fake, { ns: "ci", name: "build-1", steps: ["clone", "build"] }).create().startPod();
  run.start("step-clone");
  let clone = "";
  for (let i = 0; i < 10; i++) {
    const t = lines("clone", i * 5, 5);
    clone += t;
    run.write("step-clone", t);
    await sleep(30);
  }
  run.end("step-clone").start("step-build");
  let build = "";
  for (let i = 0; i < 10; i++) {
    const t = lines("build", i * 50, 50);
    build += t;
    run.write("step-build", t);
    await sleep(30);
  }
  run.write("step-build", "no newline at the end");
  build += "no newline at the end\n";
  run.end("step-build").finish();
  await sleep(1000);
  run.deletePod();
  run.delete();
  const log = await storedLog(e, "ci", run.uid, run.uid);
  expect(log).toBe(prefixed("clone", clone) + prefixed("build", build));
  const metrics = await (await fetch(`${e.srv.http}/metrics`)).text();
  expect(metrics).toContain(`hindsight_watch_log_bytes_total{cluster="c1"} ${Buffer.byteLength(clone + build) - 1}`);
  expect(metrics).toContain('hindsight_watch_logs_stored_total{cluster="c1"} 1');
});

test("dropped follow connections and a restart in the middle of a running step: no line duplicated, none missing", async () => {
  const e = await setup();
  const run = new PodRun(e.fake, { ns: "ci", name: "long-1", steps: ["build"] }).create().startPod().start("step-build");
  let want = "";
  let n = 0;
  let writing = true;
  // Many appends within each second: sinceTime re-sends them, the resume point must skip exactly those stored.
  const writer = (async () => {
    while (writing) {
      const t = lines("b", n, 3);
      n += 3;
      want += t;
      run.write("step-build", t);
      await sleep(5);
    }
  })();
  await waitFor("capture under way", () => e.fake.pods.followers() > 0);
  await sleep(300);
  e.fake.pods.dropFollowers();
  await sleep(400);
  await e.restart();
  await sleep(400);
  e.fake.pods.dropFollowers();
  await sleep(300);
  writing = false;
  await writer;
  run.end("step-build").finish();
  const log = await storedLog(e, "ci", run.uid, run.uid);
  const got = log.split("\n").filter(Boolean);
  expect(new Set(got).size).toBe(got.length);
  expect(log).toBe(prefixed("build", want));
});

test("output of a step that then goes quiet is stored within the flush interval, before the step ends", async () => {
  const e = await setup();
  const run = new PodRun(e.fake, { ns: "ci", name: "quiet", steps: ["s"] }).create().startPod().start("step-s");
  await waitFor("capture under way", () => e.fake.pods.followers() > 0);
  run.write("step-s", "a few lines\nthen silence\n");
  const stored = () => e.srv.app.db.query<{ n: number }, []>("SELECT coalesce(sum(bytes), 0) AS n FROM log_parts").get()!.n;
  await waitFor("the quiet step's output stored", () => stored() === "a few lines\nthen silence\n".length, 3000, 50);
  run.end("step-s").finish();
  expect(await storedLog(e, "ci", run.uid, run.uid)).toBe("[s] a few lines\n[s] then silence\n");
});

test("a retried TaskRun's log holds every attempt, in order", async () => {
  const e = await setup();
  const run = new PodRun(e.fake, { ns: "ci", name: "flaky", steps: ["a"] }).create().startPod().start("step-a");
  run.write("step-a", "first try\n");
  run.end("step-a");
  await sleep(300);
  run.retry().start("step-a");
  run.write("step-a", "second try\n");
  run.end("step-a").finish();
  expect(await storedLog(e, "ci", run.uid, run.uid)).toBe("[a] first try\n[a] second try\n");
});

test("stopping while captures run, and while more wait for a stream, is prompt; the restart finishes every log", async () => {
  const e = await setup({}, { maxFollowers: 1 });
  const runs = ["s1", "s2", "s3"].map((n) => new PodRun(e.fake, { ns: "ci", name: n, steps: ["a", "b"] }).create().startPod().start("step-a").start("step-b"));
  for (const r of runs) r.write("step-a", `${r.o.name} a\n`);
  await waitFor("a stream open", () => e.fake.pods.followers() > 0);
  const t0 = Date.now();
  await e.restart();
  expect(Date.now() - t0).toBeLessThan(5000);
  for (const r of runs) {
    r.write("step-b", `${r.o.name} b\n`);
    r.end("step-a").end("step-b").finish();
  }
  for (const r of runs) expect(await storedLog(e, "ci", r.uid, r.uid)).toBe(`[a] ${r.o.name} a\n[b] ${r.o.name} b\n`);
});

test("a run that never started a pod, and a container that never started, get a note instead of a missing log", async () => {
  const e = await setup();
  const never = new PodRun(e.fake, { ns: "ci", name: "never", steps: ["a"] }).create();
  never.finish("False", "TaskRunCancelled");
  expect(await storedLog(e, "ci", never.uid, never.uid)).toBe("(hindsight: no log: the TaskRun finished but it never ran a pod (TaskRunCancelled))\n");

  const half = new PodRun(e.fake, { ns: "ci", name: "half", steps: ["a", "b"] }).create().startPod().start("step-a");
  half.write("step-a", "a ran\n");
  half.end("step-a").finish("False", "Failed");
  const log = await storedLog(e, "ci", half.uid, half.uid);
  expect(log).toBe("[a] a ran\n[b] (hindsight: no log: container step-b never started)\n");
});

test("a PipelineRun's log is its TaskRuns' logs in execution order with [task : step] prefixes; Dashboard route serves one container", async () => {
  const e = await setup();
  const prUid = crypto.randomUUID();
  const pr: Obj = {
    apiVersion: "tekton.dev/v1",
    kind: "PipelineRun",
    metadata: { name: "pr-1", namespace: "ci", uid: prUid },
    spec: {},
    status: { conditions: [{ type: "Succeeded", status: "Unknown", reason: "Running" }] },
  };
  e.fake.create("pipelineruns", pr);
  const t1 = new PodRun(e.fake, { ns: "ci", name: "pr-1-fetch", steps: ["clone"], owner: { name: "pr-1", uid: prUid, task: "fetch" } }).create().startPod().start("step-clone");
  t1.write("step-clone", "cloned\n");
  t1.end("step-clone").finish();
  const t2 = new PodRun(e.fake, { ns: "ci", name: "pr-1-build", steps: ["compile", "test"], owner: { name: "pr-1", uid: prUid, task: "build" } }).create().startPod().start("step-compile");
  t2.write("step-compile", "compiled\n");
  t2.end("step-compile").start("step-test");
  t2.write("step-test", "tested\n");
  t2.end("step-test").finish();
  e.fake.modify("pipelineruns", "ci", "pr-1", (cur) => ({
    ...cur,
    status: {
      completionTime: new Date().toISOString(),
      conditions: [{ type: "Succeeded", status: "True", reason: "Succeeded" }],
      childReferences: [
        { apiVersion: "tekton.dev/v1", kind: "TaskRun", name: "pr-1-fetch", pipelineTaskName: "fetch" },
        { apiVersion: "tekton.dev/v1", kind: "TaskRun", name: "pr-1-build", pipelineTaskName: "build" },
      ],
    },
  }));
  expect(await storedLog(e, "ci", prUid, prUid)).toBe("[fetch : clone] cloned\n[build : compile] compiled\n[build : test] tested\n");
  expect(await storedLog(e, "ci", prUid, t2.uid)).toBe("[compile] compiled\n[test] tested\n");
  const resp = await fetch(`${e.srv.http}/logs/ci/${t2.pod}/step-test`);
  expect(resp.status).toBe(200);
  expect(await resp.text()).toBe("tested\n");
  expect((await fetch(`${e.srv.http}/logs/ci/${t2.pod}/step-nope`)).status).toBe(404);
  const bad = await fetch(`${e.srv.http}/logs/ci/%E0%A4%A/step-test`);
  expect(bad.status).toBe(400);
  expect(((await bad.json()) as { code: number }).code).toBe(3);
});

test("cleanup deletes a run only once its log is stored; the log annotation is written back", async () => {
  const e = await setup({ cleanup: { gracePeriodMs: -1000, checkOwner: true, requeueMs: 200, labelSelector: null }, writeAnnotations: true });
  const run = new PodRun(e.fake, { ns: "ci", name: "clean-1", steps: ["s"] }).create().startPod().start("step-s");
  run.write("step-s", "first\n");
  await waitFor("annotation", () => (e.fake.get("taskruns", "ci", "clean-1")?.metadata as Obj | undefined)?.annotations);
  const ann = ((e.fake.get("taskruns", "ci", "clean-1")!.metadata as Obj).annotations as Obj)["results.tekton.dev/log"] as string;
  expect(ann).toMatch(new RegExp(`^ci/results/${run.uid}/logs/[0-9a-f-]{36}$`));
  // The container ends but its log request keeps failing for a while: no deletion meanwhile.
  e.fake.failNext(6, 500, /\/log$/);
  e.fake.pods.dropFollowers();
  run.write("step-s", "second\n");
  run.end("step-s").finish();
  await waitFor("the run deleted by cleanup", () => e.fake.get("taskruns", "ci", "clean-1") === null, 20_000);
  const rec = await e.srv.app.results.getRecord(ann.replace("/logs/", "/records/"));
  expect((JSON.parse(rec.data!.value) as { status: { isStored: boolean } }).status.isStored).toBe(true);
  expect(await storedLog(e, "ci", run.uid, run.uid)).toBe("[s] first\n[s] second\n");
});
