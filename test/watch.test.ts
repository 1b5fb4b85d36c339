// The cluster watcher against a fake Kubernetes API server, through
// @kubernetes/client-node and the real app (SQLite file, gRPC): spec §13.8
// checks 91-95 and 97-99, plus the protocol (pagination, bookmarks, 410,
// reconnects, stalls, resume after restart) and the options.
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { RecordSummary_Status } from "../src/gen/resources_pb.ts";
import { SummaryStatus, type RecordResource } from "../src/core/types.ts";
import type { ClusterSpec } from "../src/watch/config.ts";
import { KubeClient } from "../src/watch/kube.ts";
import { lifecycle } from "./support/data.ts";
import { FakeKube, type FakeKubeOptions, type Obj } from "./support/fake-kube.ts";
import { apply, makeRng, simGroup, simTaskRun, sleep, testCluster, waitFor, withCondition, type SimRun } from "./support/kube-sim.ts";
import { writeKubeconfig } from "./support/kubeconfig.ts";
import { startTestServer, tempDir, type TestServer } from "./support/server.ts";

const FIXTURES = join(import.meta.dir, "../../shared/fixtures/real");

interface Env {
  fake: FakeKube;
  srv: TestServer;
  kc: string;
  dir: string;
  restart(cluster?: Partial<ClusterSpec>): Promise<void>;
}

const open: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of open.splice(0).reverse()) await c().catch(() => undefined);
});

async function setup(opts: { fake?: FakeKubeOptions; cluster?: Partial<ClusterSpec> } = {}): Promise<Env> {
  const fake = await new FakeKube({ tokens: ["t0ken"], bookmarkIntervalMs: 200, ...opts.fake }).start();
  const dir = tempDir("hindsight-watch-");
  const kc = writeKubeconfig(dir, "kubeconfig", [{ name: "c1", server: fake.url, user: { token: "t0ken" } }]);
  const env: Env = {
    fake,
    kc,
    dir,
    srv: await startTestServer({ dir, deps: { clusters: [testCluster("c1", kc, opts.cluster)] } }),
    async restart(cluster) {
      await env.srv.close({ keep: true });
      env.srv = await startTestServer({ dir, deps: { clusters: [testCluster("c1", kc, { ...opts.cluster, ...cluster })] } });
    },
  };
  open.push(async () => {
    await env.srv.close();
    await fake.stop();
  });
  return env;
}

const svc = (e: Env) => e.srv.app.results;
async function record(e: Env, name: string): Promise<RecordResource | null> {
  return svc(e).getRecord(name).catch(() => null);
}
const dataOf = (r: RecordResource | null) => (r?.data ? (JSON.parse(r.data.value) as Obj) : null);
const reasonOf = (o: Obj | null) => (((o?.status as Obj | undefined)?.conditions as Obj[] | undefined)?.[0]?.reason as string | undefined) ?? null;

/** Plays every run through all its states, one state of each run at a time. */
function play(fake: FakeKube, runs: SimRun[]): void {
  const stages = Math.max(...runs.map((r) => r.stages.length));
  for (let s = 0; s < stages; s++) for (const r of runs) if (s < r.stages.length) apply(fake, r, s);
}

async function storedFinal(e: Env, ns: string, result: string, run: SimRun): Promise<RecordResource> {
  return waitFor(`${run.name} stored in its final state`, async () => {
    const r = await record(e, `${ns}/results/${result}/records/${run.uid}`);
    return r && reasonOf(dataOf(r)) === reasonOf(run.final) && (dataOf(r)!.status as Obj).completionTime ? r : null;
  });
}

describe("spec §13.8", () => {
  test("91: a standalone TaskRun: Result ns/results/T, Record …/records/T of type tekton.dev/v1.TaskRun; annotations and event list written back", async () => {
    const e = await setup({ cluster: { writeAnnotations: true, storeEvents: true } });
    const run = simTaskRun(makeRng(91), { namespace: "team-a" });
    for (let s = 0; s < 3; s++) apply(e.fake, run, s);
    e.fake.addEvent({ namespace: "team-a", involved: { kind: "TaskRun", name: run.name, uid: run.uid }, reason: "Started", message: "started" });
    const pod = (run.final.status as Obj).podName as string;
    e.fake.addEvent({ namespace: "team-a", involved: { kind: "Pod", name: pod }, reason: "Pulled", message: "image pulled" });
    e.fake.addEvent({ namespace: "team-a", involved: { kind: "TaskRun", name: "someone-else", uid: "x" }, reason: "Started", message: "not ours" });
    apply(e.fake, run, 3);
    const T = run.uid;
    const rec = await storedFinal(e, "team-a", T, run);
    expect(rec.data?.type).toBe("tekton.dev/v1.TaskRun");
    const res = await e.srv.client.getResult({ name: `team-a/results/${T}` });
    expect(res.summary?.record).toBe(`team-a/results/${T}/records/${T}`);
    const ann = await waitFor("annotations written back", () => {
      const a = (e.fake.get("taskruns", "team-a", run.name)!.metadata as Obj).annotations as Record<string, string>;
      return a["results.tekton.dev/eventlist"] ? a : null;
    });
    expect(ann["results.tekton.dev/result"]).toBe(`team-a/results/${T}`);
    expect(ann["results.tekton.dev/record"]).toBe(`team-a/results/${T}/records/${T}`);
    const ev = await svc(e).getRecord(ann["results.tekton.dev/eventlist"]!);
    expect(ev.data?.type).toBe("results.tekton.dev/v1.EventList");
    const list = JSON.parse(ev.data!.value) as { kind: string; items: Obj[] };
    expect(list.kind).toBe("EventList");
    expect(list.items.map((i) => i.reason).sort()).toEqual(["Pulled", "Started"]);
    // Metadata stripped to name, namespace, creationTimestamp.
    expect(Object.keys(list.items[0]!.metadata as Obj).sort()).toEqual(["creationTimestamp", "name", "namespace"]);
    // The record holds the object with the annotations (the write-back was stored too).
    await waitFor("annotated state stored", async () => ((dataOf(await record(e, `team-a/results/${T}/records/${T}`))!.metadata as Obj).annotations as Obj)["results.tekton.dev/record"]);
  });

  test("92: a PipelineRun and its 11 TaskRuns: all under ns/results/P; summary of the PipelineRun, SUCCESS, its start and end", async () => {
    const e = await setup();
    let runs: SimRun[];
    let seed = 92;
    do runs = simGroup(makeRng(seed++), { namespace: "ci", taskRuns: 11, apiVersion: "tekton.dev/v1" });
    while (reasonOf(runs[0]!.final) !== "Succeeded");
    expect(runs.length).toBe(12);
    play(e.fake, runs);
    const P = runs[0]!.uid;
    for (const r of runs) await storedFinal(e, "ci", P, r);
    const recs = await e.srv.client.listRecords({ parent: `ci/results/${P}`, pageSize: 100 });
    expect(recs.records.map((r) => r.name).sort()).toEqual(runs.map((r) => `ci/results/${P}/records/${r.uid}`).sort());
    const res = await waitFor("summary SUCCESS", async () => {
      const r = await e.srv.client.getResult({ name: `ci/results/${P}` });
      return r.summary?.status === RecordSummary_Status.SUCCESS ? r : null;
    });
    const pr = runs[0]!.final.status as Obj;
    expect(res.summary!.record).toBe(`ci/results/${P}/records/${P}`);
    expect(res.summary!.type).toBe("tekton.dev/v1.PipelineRun");
    expect(Number(res.summary!.startTime!.seconds) * 1000).toBe(Date.parse(pr.startTime as string));
    expect(Number(res.summary!.endTime!.seconds) * 1000).toBe(Date.parse(pr.completionTime as string));
    expect(res.annotations["hindsight.dev/cluster"]).toBe("c1");
  });

  test("93: resultAnnotations, recordSummaryAnnotations and the tekton.dev/pipeline label (upstream's e2e maps)", async () => {
    const e = await setup();
    const run = simTaskRun(makeRng(93), { namespace: "default" });
    for (const o of [...run.stages]) {
      const m = o.metadata as Obj;
      m.name = "hello";
      m.labels = { "tekton.dev/pipeline": "hello" };
      m.annotations = { "results.tekton.dev/resultAnnotations": '{"repo": "tektoncd/results", "commit": "1a6b908"}', "results.tekton.dev/recordSummaryAnnotations": '{"foo": "bar"}' };
    }
    run.name = "hello";
    play(e.fake, [run]);
    const res = await waitFor("result with summary", async () => {
      const r = await e.srv.client.getResult({ name: `default/results/${run.uid}` });
      return r.summary?.status === RecordSummary_Status.SUCCESS ? r : null;
    });
    expect(res.annotations).toEqual({ repo: "tektoncd/results", "object.metadata.name": "hello", commit: "1a6b908", "tekton.dev/pipeline": "hello", "hindsight.dev/cluster": "c1" });
    expect(res.summary!.annotations).toEqual({ foo: "bar" });
  });

  test("94: label triggers.tekton.dev/triggers-eventid E puts the run in ns/results/E", async () => {
    const e = await setup();
    const run = simTaskRun(makeRng(94), { namespace: "ns" });
    for (const o of run.stages) ((o.metadata as Obj).labels as Obj)["triggers.tekton.dev/triggers-eventid"] = "e-1234";
    play(e.fake, [run]);
    await storedFinal(e, "ns", "e-1234", run);
  });

  test("95: annotation results.tekton.dev/result other/results/x puts the run there (parent other)", async () => {
    const e = await setup();
    const run = simTaskRun(makeRng(95), { namespace: "ns" });
    for (const o of run.stages) ((o.metadata as Obj).annotations as Obj)["results.tekton.dev/result"] = "other/results/x";
    play(e.fake, [run]);
    await storedFinal(e, "other", "x", run);
    expect((await e.srv.client.listResults({ parent: "other" })).results.map((r) => r.name)).toEqual(["other/results/x"]);
  });

  test("97: completed runs are deleted after the grace period once stored; TaskRuns go with their PipelineRun; history stays", async () => {
    const e = await setup({ cluster: { cleanup: { gracePeriodMs: -1, checkOwner: true, requeueMs: 300, labelSelector: null } } });
    const rng = makeRng(97);
    const group = simGroup(rng, { namespace: "ci", taskRuns: 4 });
    const running = simGroup(rng, { namespace: "ci", taskRuns: 2 });
    const standalone = simTaskRun(rng, { namespace: "ci" });
    const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    for (const r of [...group, standalone]) (r.stages[r.stages.length - 1]!.status as Obj).completionTime = now;
    // No other controller's finalizers here (Chains'), so a delete removes the run at once.
    for (const r of [...group, standalone, ...running]) for (const o of r.stages) delete (o.metadata as Obj).finalizers;
    play(e.fake, [...group, standalone]);
    // A second group stays running: never deleted.
    for (const r of running) apply(e.fake, r, 0);
    await waitFor("pipelinerun deleted", () => e.fake.get("pipelineruns", "ci", group[0]!.name) === null, 20_000);
    await waitFor("standalone taskrun deleted", () => e.fake.get("taskruns", "ci", standalone.name) === null);
    // TaskRuns of the PipelineRun went with it (cascade), never deleted on their own.
    expect(e.fake.requests.get("delete taskruns") ?? 0).toBe(1); // the standalone one
    expect(e.fake.requests.get("delete pipelineruns")).toBe(1);
    for (const r of group.slice(1)) expect(e.fake.get("taskruns", "ci", r.name)).toBeNull();
    for (const r of running) expect(e.fake.get(r.resource, "ci", r.name)).not.toBeNull();
    // Every deleted run is still in history, in its final state.
    const P = group[0]!.uid;
    for (const r of group) expect(reasonOf(dataOf(await record(e, `ci/results/${P}/records/${r.uid}`)))).toBe(reasonOf(r.final));
    expect(reasonOf(dataOf(await record(e, `ci/results/${standalone.uid}/records/${standalone.uid}`)))).toBe(reasonOf(standalone.final));
    await waitFor("deletions counted", () => /hindsight_watch_runs_deleted_total\{cluster="c1",resource="pipelineruns"\} 1/.test(e.srv.app.metrics.render()));
  });

  test("97: a grace period in the future holds deletion; the state deleted is the state stored", async () => {
    const e = await setup({ cluster: { cleanup: { gracePeriodMs: 1500, checkOwner: true, requeueMs: 300, labelSelector: null } } });
    const run = simTaskRun(makeRng(971), { namespace: "ci" });
    (run.stages[3]!.status as Obj).completionTime = new Date().toISOString();
    const t0 = Date.now();
    play(e.fake, [run]);
    await storedFinal(e, "ci", run.uid, run);
    await sleep(500);
    expect(e.fake.get("taskruns", "ci", run.name)).not.toBeNull();
    await waitFor("deleted after the grace period", () => e.fake.get("taskruns", "ci", run.name) === null);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1400);
  });

  test("98: with finalizers on, watched runs carry results.tekton.dev/<kind> until their last state is stored", async () => {
    const e = await setup({ cluster: { finalizers: true } });
    const run = simTaskRun(makeRng(98), { namespace: "ci" });
    play(e.fake, [run]);
    await waitFor("finalizer added", () => ((e.fake.get("taskruns", "ci", run.name)?.metadata as Obj).finalizers as string[] | undefined)?.includes("results.tekton.dev/taskrun"));
    // A pruner deletes it: the apiserver only marks it; the watcher stores that state and releases its finalizer.
    expect(e.fake.remove("taskruns", "ci", run.name)).toBe("deleting");
    const others = await waitFor("our finalizer released", () => {
      const f = (e.fake.get("taskruns", "ci", run.name)?.metadata as Obj | undefined)?.finalizers as string[] | undefined;
      return f && !f.includes("results.tekton.dev/taskrun") ? f : null;
    }).catch(() => [] as string[]);
    // Other controllers' finalizers (Chains here) are left alone; once they let go, the run is gone.
    if (others.length) e.fake.modify("taskruns", "ci", run.name, (o) => ((((o.metadata as Obj).finalizers = []), o)));
    await waitFor("gone", () => e.fake.get("taskruns", "ci", run.name) === null);
    const stored = dataOf(await record(e, `ci/results/${run.uid}/records/${run.uid}`))!;
    expect((stored.metadata as Obj).deletionTimestamp).toBeDefined();
    expect(reasonOf(stored)).toBe(reasonOf(run.final));
    expect(e.fake.heldByFinalizer.has(run.uid)).toBe(true);
  });

  test("99: status mapping through the watcher (timeout, resolution failure, image pull failure, unknown reason)", async () => {
    const e = await setup();
    const rng = makeRng(99);
    const cases: Array<[string, "True" | "False" | "Unknown", number]> = [
      ["PipelineRunTimeout", "False", SummaryStatus.TIMEOUT],
      ["TaskRunResolutionFailed", "False", SummaryStatus.FAILURE],
      ["TaskRunImagePullFailed", "False", SummaryStatus.FAILURE],
      ["PodEvicted", "False", SummaryStatus.FAILURE],
      ["TaskRunCancelled", "False", SummaryStatus.CANCELLED],
      ["SomethingNew", "Unknown", SummaryStatus.UNKNOWN],
    ];
    const runs = cases.map(([reason, status]) => withCondition(simTaskRun(rng, { namespace: "s" }), status, reason));
    play(e.fake, runs);
    for (let i = 0; i < cases.length; i++) {
      const want = cases[i]![2];
      await waitFor(`${cases[i]![0]} -> ${want}`, async () => (await svc(e).getResult(`s/results/${runs[i]!.uid}`)).summary?.status === want && reasonOf(dataOf(await record(e, `s/results/${runs[i]!.uid}/records/${runs[i]!.uid}`))) === cases[i]![0]);
    }
  });
});

describe("watching", () => {
  test("a big cluster is listed in pages; the watch continues from the list's resourceVersion", async () => {
    const fake = await new FakeKube({ tokens: ["t0ken"], bookmarkIntervalMs: 200 }).start();
    open.push(() => fake.stop());
    const rng = makeRng(7);
    const before = Array.from({ length: 130 }, () => simTaskRun(rng, { namespace: "big", stages: 1 }));
    play(fake, before);
    const dir = tempDir("hindsight-watch-");
    const kc = writeKubeconfig(dir, "kubeconfig", [{ name: "c1", server: fake.url, user: { token: "t0ken" } }]);
    const srv = await startTestServer({ dir, deps: { clusters: [testCluster("c1", kc)] } });
    open.push(() => srv.close());
    const after = simTaskRun(rng, { namespace: "big" });
    play(fake, [after]);
    await waitFor("all 131 stored", async () => (await srv.app.results.listRecords({ parent: "big/results/-", filter: "", pageSize: 200, pageToken: "", orderBy: "" })).items.length === 131);
    expect(fake.listLimits.filter((l) => l === 50).length).toBeGreaterThanOrEqual(3);
    expect(fake.requests.get("list taskruns")).toBe(3);
  });

  test("unchanged updates write nothing; a rerun of the same object never duplicates; annotation-only changes reach the Result", async () => {
    const e = await setup();
    const runs = simGroup(makeRng(5), { namespace: "ci", taskRuns: 3 });
    play(e.fake, runs);
    const P = runs[0]!.uid;
    for (const r of runs) await storedFinal(e, "ci", P, r);
    const etags = new Map<string, string>();
    for (const r of (await svc(e).listRecords({ parent: `ci/results/${P}`, filter: "", pageSize: 100, pageToken: "", orderBy: "" })).items) etags.set(r.name, r.etag);
    const written = () => Number(/hindsight_watch_records_written_total\{cluster="c1",resource="taskruns"\} (\d+)/.exec(e.srv.app.metrics.render())?.[1] ?? 0);
    const before = written();
    // A restart relists nothing (it resumes), so force the same states through: expire history -> relist.
    e.fake.expire({ notifyWatches: true });
    // At least once more (a loaded machine may see a second 410 while the fake's history is expired).
    const relists = () => Number(/hindsight_watch_relists_total\{cluster="c1",resource="taskruns"\} (\d+)/.exec(e.srv.app.metrics.render())?.[1] ?? 0);
    await waitFor("relisted", () => relists() >= 2);
    await sleep(300);
    expect(written()).toBe(before);
    for (const r of (await svc(e).listRecords({ parent: `ci/results/${P}`, filter: "", pageSize: 100, pageToken: "", orderBy: "" })).items) expect(r.etag).toBe(etags.get(r.name)!);
    // An annotation-only change of the finished PipelineRun.
    e.fake.modify("pipelineruns", "ci", runs[0]!.name, (o) => {
      ((o.metadata as Obj).annotations as Obj)["results.tekton.dev/resultAnnotations"] = '{"owner": "team-a"}';
      return o;
    });
    await waitFor("annotation on the result", async () => (await svc(e).getResult(`ci/results/${P}`)).annotations.owner === "team-a");
    expect((await svc(e).listRecords({ parent: `ci/results/-`, filter: "", pageSize: 100, pageToken: "", orderBy: "" })).items.length).toBe(runs.length);
  });

  test("drops, stalls, 500s and 410s: every state still arrives; restarts and relists are counted", async () => {
    const e = await setup({ cluster: { tuning: { idleTimeoutMs: 600 } as never } });
    const rng = makeRng(11);
    const runs = Array.from({ length: 12 }, () => simTaskRun(rng, { namespace: "f" }));
    apply(e.fake, runs[0]!, 0);
    await waitFor("first run", () => record(e, `f/results/${runs[0]!.uid}/records/${runs[0]!.uid}`));
    for (let s = 0; s < 4; s++) {
      for (const r of runs) if (s > 0 || r !== runs[0]) apply(e.fake, r, s);
      if (s === 0) e.fake.dropConnections();
      if (s === 1) {
        e.fake.stall(true);
        for (const r of runs) apply(e.fake, r, 2);
        await sleep(1500); // longer than the idle timeout: the watcher gives up on the silent stream
        e.fake.failNext(3, 500);
        e.fake.stall(false);
        s = 2;
      }
    }
    e.fake.expire({ notifyWatches: true });
    const late = simTaskRun(rng, { namespace: "f" });
    play(e.fake, [late]);
    for (const r of [...runs, late]) await storedFinal(e, "f", r.uid, r);
    const m = e.srv.app.metrics.render();
    expect(Number(/hindsight_watch_restarts_total\{cluster="c1",resource="taskruns"\} (\d+)/.exec(m)?.[1])).toBeGreaterThanOrEqual(2);
    expect(Number(/hindsight_watch_relists_total\{cluster="c1",resource="taskruns"\} (\d+)/.exec(m)?.[1])).toBeGreaterThanOrEqual(2);
  });

  // A request that never answers must not hold a stop for the client's
  // request timeout (60 s), and a list answered after the stop must not go on
  // to open a watch that nothing would ever close (seen under load in CI).
  const cleanup = { cleanup: { gracePeriodMs: 60_000, checkOwner: true, requeueMs: 60_000, labelSelector: null } };
  for (const [what, match, cluster] of [
    ["discovery", /^GET \/apis$/, {}],
    ["a list page", /^GET \/apis\/tekton\.dev\/v1\/taskruns\?(?!.*watch=true)/, {}],
    // The cleanup sweep lists 500 at a time (the streams 50).
    ["the cleanup sweep's list page", /^GET \/apis\/tekton\.dev\/v1\/taskruns\?.*limit=500/, cleanup],
  ] as const) {
    test(`a stop while ${what} hangs returns at once and cancels it; nothing is watched after it`, async () => {
      const fake = await new FakeKube({ tokens: ["t0ken"], bookmarkIntervalMs: 200 }).start();
      open.push(() => fake.stop());
      const release = fake.hold(match);
      const dir = tempDir("hindsight-watch-");
      const kc = writeKubeconfig(dir, "kubeconfig", [{ name: "c1", server: fake.url, user: { token: "t0ken" } }]);
      const srv = await startTestServer({ dir, deps: { clusters: [testCluster("c1", kc, cluster)] } });
      await waitFor(`${what} held`, () => fake.held > 0);
      const closed = await Promise.race([srv.close().then(() => "closed"), sleep(15_000).then(() => "still waiting")]);
      expect(closed).toBe("closed");
      // The request itself was cancelled, not left to its one-minute timeout.
      await waitFor(`${what} cancelled`, () => fake.heldCancelled > 0, 10_000);
      release();
      await sleep(500); // room for a late answer to start a watch
      expect(fake.openWatches()).toBe(0);
    });
  }

  test("a watch asked for with a signal already aborted ends at once and sends nothing", async () => {
    const fake = await new FakeKube({ tokens: ["t0ken"], bookmarkIntervalMs: 200 }).start();
    open.push(() => fake.stop());
    const kc = writeKubeconfig(tempDir("hindsight-watch-"), "kubeconfig", [{ name: "c1", server: fake.url, user: { token: "t0ken" } }]);
    const client = new KubeClient({ name: "c1", kubeconfig: kc, context: "c1" });
    const gvr = { group: "tekton.dev", version: "v1", plural: "taskruns", kind: "TaskRun" };
    const events = [];
    for await (const ev of client.watch(gvr, { namespace: null, resourceVersion: "1", timeoutSeconds: 60, idleTimeoutMs: 60_000, signal: AbortSignal.abort() })) events.push(ev);
    expect(events).toEqual([]);
    expect(fake.requests.get("watch taskruns")).toBeUndefined();
  });

  test("progress survives a restart: the watch resumes from the saved resourceVersion (no list) and catches up", async () => {
    const e = await setup();
    const rng = makeRng(12);
    const first = simTaskRun(rng, { namespace: "r" });
    play(e.fake, [first]);
    await storedFinal(e, "r", first.uid, first);
    await sleep(300); // a save interval
    await e.srv.close({ keep: true });
    const lists = e.fake.requests.get("list taskruns");
    const during = Array.from({ length: 5 }, () => simTaskRun(rng, { namespace: "r" }));
    play(e.fake, during);
    e.srv = await startTestServer({ dir: e.dir, deps: { clusters: [testCluster("c1", e.kc)] } });
    for (const r of during) await storedFinal(e, "r", r.uid, r);
    expect(e.fake.requests.get("list taskruns")).toBe(lists);
    // With history gone while down, the restart lists instead.
    await e.srv.close({ keep: true });
    const gone = simTaskRun(rng, { namespace: "r" });
    play(e.fake, [gone]);
    e.fake.expire();
    e.srv = await startTestServer({ dir: e.dir, deps: { clusters: [testCluster("c1", e.kc)] } });
    await storedFinal(e, "r", gone.uid, gone);
    expect(e.fake.requests.get("list taskruns")).toBe((lists ?? 0) + 1);
  });

  test("a cluster serving only tekton.dev/v1beta1 is watched in v1beta1; CustomRuns are stored", async () => {
    const e = await setup({ fake: { tektonVersions: ["v1beta1"] } });
    const run = simTaskRun(makeRng(13), { namespace: "old" });
    for (const o of run.stages) o.apiVersion = "tekton.dev/v1beta1";
    play(e.fake, [run]);
    const rec = await storedFinal(e, "old", run.uid, run);
    expect(rec.data?.type).toBe("tekton.dev/v1beta1.TaskRun");
    const file = join(FIXTURES, "customrun-v1beta1-synthetic-lighthouse-succeeded.json");
    const cr: Obj = existsSync(file)
      ? (JSON.parse(readFileSync(file, "utf8")) as Obj)
      : { apiVersion: "tekton.dev/v1beta1", kind: "CustomRun", metadata: { name: "cr" }, status: { conditions: [{ type: "Succeeded", status: "True", reason: "ChildPipelineRunCreated" }] } };
    const m = cr.metadata as Obj;
    m.namespace = "old";
    delete m.resourceVersion;
    delete m.ownerReferences;
    const created = e.fake.create("customruns", cr);
    const uid = (created.metadata as Obj).uid as string;
    const crRec = await waitFor("custom run stored", () => record(e, `old/results/${uid}/records/${uid}`));
    expect(crRec.data?.type).toBe("tekton.dev/v1beta1.CustomRun");
    expect((await svc(e).getResult(`old/results/${uid}`)).summary?.status).toBe(SummaryStatus.SUCCESS);
  });

  test("parent template {cluster}-{namespace}; namespaces and label selector limit what is watched", async () => {
    const e = await setup({ cluster: { parent: "{cluster}-{namespace}", namespaces: ["a", "b"], labelSelector: "team=red" } });
    const rng = makeRng(14);
    const mk = (ns: string, team: string) => {
      const r = simTaskRun(rng, { namespace: ns });
      for (const o of r.stages) ((o.metadata as Obj).labels as Obj).team = team;
      return r;
    };
    const inA = mk("a", "red");
    const inB = mk("b", "red");
    const blue = mk("a", "blue");
    const inC = mk("c", "red");
    play(e.fake, [inA, inB, blue, inC]);
    await storedFinal(e, "c1-a", inA.uid, inA);
    await storedFinal(e, "c1-b", inB.uid, inB);
    await sleep(300);
    const all = (await svc(e).listRecords({ parent: "-/results/-", filter: "", pageSize: 100, pageToken: "", orderBy: "" })).items.map((r) => `${r.parent}/results/${r.resultName}/records/${r.name}`);
    expect(all.sort()).toEqual([`c1-a/results/${inA.uid}/records/${inA.uid}`, `c1-b/results/${inB.uid}/records/${inB.uid}`].sort());
    expect(e.srv.app.watcher!.status()[0]!.streams.map((s) => s.stream).sort()).toEqual(["customruns@a", "customruns@b", "pipelineruns@a", "pipelineruns@b", "taskruns@a", "taskruns@b"]);
  });

  test("cluster teardown: one cluster gone for good, its history stays queryable, the other keeps flowing", async () => {
    const a = await new FakeKube({ tokens: ["t"], bookmarkIntervalMs: 200 }).start();
    const b = await new FakeKube({ tokens: ["t"], bookmarkIntervalMs: 200 }).start();
    const dir = tempDir("hindsight-watch-");
    const kc = writeKubeconfig(dir, "kubeconfig", [
      { name: "a", server: a.url, user: { token: "t" } },
      { name: "b", server: b.url, user: { token: "t" } },
    ]);
    const srv = await startTestServer({ dir, deps: { clusters: [testCluster("a", kc), testCluster("b", kc)] } });
    open.push(async () => {
      await srv.close();
      await b.stop();
    });
    const rng = makeRng(15);
    const ra = simGroup(rng, { namespace: "ci", taskRuns: 3 });
    const rb = simGroup(rng, { namespace: "ci", taskRuns: 3 });
    play(a, ra);
    play(b, rb);
    const got = (r: SimRun, g: SimRun[]) => srv.app.results.getRecord(`ci/results/${g[0]!.uid}/records/${r.uid}`).catch(() => null);
    for (const r of ra) await waitFor("a stored", () => got(r, ra));
    await a.stop();
    const rb2 = simGroup(rng, { namespace: "ci", taskRuns: 3 });
    play(b, rb2);
    for (const r of [...rb, ...rb2]) await waitFor("b keeps flowing", async () => reasonOf(dataOf(await got(r, r === rb[0] || rb.includes(r) ? rb : rb2))) === reasonOf(r.final));
    const st = await waitFor("a reported down", () => {
      const s = srv.app.watcher!.status().find((c) => c.name === "a")!;
      return s.state !== "running" && s.lastError ? s : null;
    });
    expect(st.lastError).toContain('cluster "a"');
    expect(srv.app.watcher!.status().find((c) => c.name === "b")!.state).toBe("running");
    const res = await srv.client.getResult({ name: `ci/results/${ra[0]!.uid}` });
    expect(res.annotations["hindsight.dev/cluster"]).toBe("a");
    expect((await srv.client.listRecords({ parent: `ci/results/${ra[0]!.uid}` })).records.length).toBe(ra.length);
    // GET /metrics on the HTTP port.
    const resp = await fetch(`http://127.0.0.1:${srv.app.httpPort}/metrics`);
    expect(resp.headers.get("content-type")).toContain("text/plain; version=0.0.4");
    const metrics = await resp.text();
    expect(metrics).toContain('hindsight_watch_connected{cluster="a"} 0');
    expect(metrics).toContain('hindsight_watch_connected{cluster="b"} 1');
  });
});

test("97: a PipelineRun whose child is not done (so not stored done) is not deleted until it is", async () => {
  const e = await setup({ cluster: { cleanup: { gracePeriodMs: -1, checkOwner: true, requeueMs: 200, labelSelector: null } } });
  let runs: SimRun[];
  let seed = 970;
  do runs = simGroup(makeRng(seed++), { namespace: "ci", taskRuns: 3 });
  while (reasonOf(runs[0]!.final) !== "Succeeded");
  for (const r of runs) for (const o of r.stages) delete (o.metadata as Obj).finalizers;
  const [pr, ...children] = runs as [SimRun, ...SimRun[]];
  const late = children[children.length - 1]!;
  for (let s = 0; s < 4; s++) for (const r of runs) if (!(r === late && s === 3)) apply(e.fake, r, s);
  await storedFinal(e, "ci", pr.uid, pr);
  await sleep(1000);
  expect(e.fake.get("pipelineruns", "ci", pr.name)).not.toBeNull();
  apply(e.fake, late, 3);
  await waitFor("pipelinerun deleted once its last child is stored done", () => e.fake.get("pipelineruns", "ci", pr.name) === null);
  expect(reasonOf(dataOf(await record(e, `ci/results/${pr.uid}/records/${late.uid}`)))).toBe(reasonOf(late.final));
});

describe.skipIf(!existsSync(FIXTURES))("real fixtures through their lifecycle", () => {
  const load = (f: string) => JSON.parse(readFileSync(join(FIXTURES, f), "utf8")) as Obj;
  const asRun = (o: Obj): SimRun => {
    for (const k of ["finalizers", "resourceVersion"]) delete (o.metadata as Obj)[k];
    const m = o.metadata as Obj;
    return { resource: o.kind === "PipelineRun" ? "pipelineruns" : "taskruns", uid: m.uid as string, ns: m.namespace as string, name: m.name as string, stages: lifecycle(o), final: o };
  };

  test("the Konflux PipelineRun and its 11 TaskRuns: Pending → Running → Succeeded, then pruned seconds later; history stays", async () => {
    const e = await setup();
    const pr = asRun(load("pipelinerun-v1beta1-konflux-hr-11-taskruns-childrefs.json"));
    const trs = readdirSync(FIXTURES)
      .filter((f) => f.startsWith("taskrun-v1beta1-konflux-hr-"))
      .map((f) => asRun(load(f)));
    expect(trs.length).toBe(11);
    play(e.fake, [pr, ...trs]);
    // Served as tekton.dev/v1 (the apiserver converts); names from the fixtures' own annotations.
    const P = pr.uid;
    for (const r of [pr, ...trs]) await storedFinal(e, pr.ns, P, r);
    const res = await e.srv.client.getResult({ name: `${pr.ns}/results/${P}` });
    expect(res.summary?.status).toBe(RecordSummary_Status.SUCCESS); // reason Completed (some tasks skipped)
    expect(res.summary?.type).toBe("tekton.dev/v1.PipelineRun");
    await sleep(1000);
    e.fake.remove("pipelineruns", pr.ns, pr.name);
    await waitFor("TaskRuns gone with it", () => trs.every((t) => e.fake.get("taskruns", t.ns, t.name) === null));
    await sleep(300);
    const recs = await e.srv.client.listRecords({ parent: `${pr.ns}/results/${P}`, pageSize: 100 });
    expect(recs.records.length).toBe(12);
  });

  test("timed-out, failed and cancelled PipelineRuns from real clusters get TIMEOUT, FAILURE and CANCELLED", async () => {
    const e = await setup();
    const timeout = asRun(load("pipelinerun-v1beta1-konflux-timeout-embedded-taskruns.json"));
    const failed = asRun(load("pipelinerun-v1beta1-jx-failed-embedded-taskruns.json"));
    const fragment = load("pipelinerun-v1beta1-status-fragment-cancelled-runfinally.json");
    const cancelled = asRun({
      apiVersion: "tekton.dev/v1beta1",
      kind: "PipelineRun",
      metadata: { name: "cancelled-run", namespace: "ci", uid: "5b0c3c1e-0000-4000-8000-000000000001" },
      spec: {},
      status: (fragment.status as Obj | undefined) ?? fragment,
    });
    const want: Array<[SimRun, number]> = [
      [timeout, SummaryStatus.TIMEOUT],
      [failed, SummaryStatus.FAILURE],
      [cancelled, SummaryStatus.CANCELLED],
    ];
    play(e.fake, want.map(([r]) => r));
    for (const [r, status] of want) {
      const name = resultNameFor(r);
      await waitFor(`${r.name} -> ${status}`, async () => (await svc(e).getResult(name)).summary?.status === status);
    }
  });
});

/** The result a fixture run goes to: its results.tekton.dev/result annotation, else its own uid. */
function resultNameFor(r: SimRun): string {
  return (((r.final.metadata as Obj).annotations as Obj | undefined)?.["results.tekton.dev/result"] as string | undefined) ?? `${r.ns}/results/${r.uid}`;
}

test("the client reads Events with field selectors and Pod logs (the seam for log capture)", async () => {
  const e = await setup();
  e.fake.setPodLog("ns", "build-pod", "step-build", "[build] compiling\n[build] done\n");
  e.fake.addEvent({ namespace: "ns", involved: { kind: "Pod", name: "build-pod" }, reason: "Pulled", message: "pulled" });
  e.fake.addEvent({ namespace: "ns", involved: { kind: "Pod", name: "other-pod" }, reason: "Pulled", message: "pulled" });
  const client = e.srv.app.watcher!.clusters[0]!.client;
  expect(await client.podLog("ns", "build-pod", "step-build")).toBe("[build] compiling\n[build] done\n");
  await expect(client.podLog("ns", "gone-pod", "step-build")).rejects.toThrow(/HTTP 404/);
  const evs = await client.listEvents("ns", "involvedObject.kind=Pod,involvedObject.name=build-pod");
  expect(evs.map((x) => (x as Obj).reason)).toEqual(["Pulled"]);
});

test("a cluster that forbids patching: runs are still stored, the refusal is not retried", async () => {
  const e = await setup({ cluster: { writeAnnotations: true } });
  e.fake.failNext(1000, 403, /^PATCH /);
  const run = simTaskRun(makeRng(403), { namespace: "ro" });
  play(e.fake, [run]);
  await storedFinal(e, "ro", run.uid, run);
  await sleep(500);
  expect(e.srv.app.metrics.render()).not.toMatch(/hindsight_watch_write_errors_total\{[^}]*\} [1-9]/);
  const patchesTried = 1000 - (e.fake as unknown as { failures: unknown[] }).failures.length;
  expect(patchesTried).toBeLessThanOrEqual(4); // one per stored state, no retry loop
});
