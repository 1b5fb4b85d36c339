// Nothing lost: 2,000 runs across two fake clusters, driven through their
// lifecycles while connections drop, requests fail, history expires (410),
// runs are pruned the moment they complete, and the watcher process is
// killed with SIGKILL and restarted in the middle. Every run whose completed
// state the clusters delivered to the watcher (in a list page or a watch
// event), or that was held by the watcher's finalizer, must be stored with
// its final status, exactly once.
//
// The oracle is the fake servers' own record of what they wrote to the
// watcher's connections. History is expired (the apiserver's compaction)
// only while every watch of that cluster is connected: a compaction while
// the watcher is down or reconnecting drops events no watcher can get back
// without a finalizer, which cluster "b" has on (cluster "a" has not).
import { afterAll, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { FakeKube, type Obj } from "./support/fake-kube.ts";
import { apply, makeRng, simGroup, simTaskRun, sleep, waitFor, type SimRun } from "./support/kube-sim.ts";
import { writeKubeconfig } from "./support/kubeconfig.ts";
import { killAllProcesses, removeDir, startHindsight, tempDir, type HindsightProcess } from "./support/process.ts";

afterAll(killAllProcesses);

const RUNS_PER_CLUSTER = 1000;
const doneState = (o: Obj) => {
  const c = ((o.status as Obj).conditions as Obj[]).find((x) => x.type === "Succeeded")!;
  return c.status === "True" || c.status === "False" ? `${c.status}:${c.reason}` : null;
};

interface Unit {
  runs: SimRun[];
  /** Next (run index, stage) to apply: all runs' stage 0, then stage 1, ... */
  step: number;
  prune: "now" | "soon" | "never";
}

function units(seed: number): Unit[] {
  const rng = makeRng(seed);
  const out: Unit[] = [];
  let n = 0;
  while (n < RUNS_PER_CLUSTER) {
    const ns = `team-${Math.floor(rng() * 5)}`;
    const runs = rng() < 0.8 ? simGroup(rng, { namespace: ns }) : [simTaskRun(rng, { namespace: ns, state: rng() < 0.7 ? "succeeded" : "failed" })];
    // Other controllers' finalizers (Chains) would hold pruned runs forever here.
    for (const r of runs) for (const o of r.stages) delete (o.metadata as Obj).finalizers;
    const u = rng();
    out.push({ runs, step: 0, prune: u < 0.4 ? "now" : u < 0.7 ? "soon" : "never" });
    n += runs.length;
  }
  return out;
}

test("nothing lost: 2,000 runs, 2 clusters, drops, 500s, 410s, pruning at completion, kill -9 and restart", async () => {
  const dir = tempDir("hindsight-lost-");
  const fakes = { a: await new FakeKube({ tokens: ["ta"], bookmarkIntervalMs: 300 }).start(), b: await new FakeKube({ tokens: ["tb"], bookmarkIntervalMs: 300 }).start() };
  const kc = writeKubeconfig(dir, "kubeconfig", [
    { name: "a", server: fakes.a.url, user: { token: "ta" } },
    { name: "b", server: fakes.b.url, user: { token: "tb" } },
  ]);
  const cfg = join(dir, "watch.yaml");
  writeFileSync(
    cfg,
    `defaults:
  watch: { pageSize: 100, backoffInitial: 50ms, backoffMax: 400ms, idleTimeout: 3s, saveInterval: 200ms }
clusters:
  - context: a
    kubeconfig: ${kc}
  - context: b
    kubeconfig: ${kc}
    finalizers: true
`,
  );
  const db = join(dir, "h.db");
  const start = () => startHindsight({ db, args: ["--watch-config", cfg] });
  let proc: HindsightProcess | null = await start();
  const plan = { a: units(1), b: units(2) };
  const total = plan.a.reduce((s, u) => s + u.runs.length, 0) + plan.b.reduce((s, u) => s + u.runs.length, 0);
  expect(total).toBeGreaterThanOrEqual(2000);
  const steps = (u: Unit) => u.runs.length * 4;
  const allSteps = [...plan.a, ...plan.b].reduce((s, u) => s + steps(u), 0);
  let applied = 0;
  const pending: Array<Promise<void>> = [];
  const rng = makeRng(3);
  const faults = { drop: 0, fail: 0, expire: 0 };

  const prune = (fake: FakeKube, u: Unit) => {
    const top = u.runs[0]!;
    fake.remove(top.resource, top.ns, top.name); // a PipelineRun takes its TaskRuns along
  };

  let killed = false;
  let killing = false;
  /** Global resourceVersion of each cluster when the watcher was killed: the restarted one must store past it. */
  let rvAtKill: Record<string, number> | null = null;
  const progress = new Database(db, { readonly: true, create: false });
  /** Every stream of `cluster` has saved a resume point at or past `rv` (all before it is stored). */
  const savedPast = (cluster: string, rv: number) => {
    const rows = progress.query<{ rv: string | null }, [string]>("SELECT resource_version AS rv FROM watch_streams WHERE cluster = ? AND stream != '*'").all(cluster);
    return rows.length === 3 && rows.every((r) => Number(r.rv ?? 0) >= rv);
  };
  const compactionAllowed = (c: "a" | "b") => {
    if (killing) return false;
    if (rvAtKill && !savedPast(c, rvAtKill[c]!)) return false;
    rvAtKill = rvAtKill && (savedPast("a", rvAtKill.a!) && savedPast("b", rvAtKill.b!) ? null : rvAtKill);
    return fakes[c].watchedResources().size === 3;
  };
  let oldProc: HindsightProcess | null = null;
  const finishedAt = new Map<string, number>();
  const expires: string[] = [];
  const marks: Record<string, number> = { start: Date.now() };
  // Faults on a timer while the runs move.
  let driving = true;
  const faulting = (async () => {
    while (driving) {
      await sleep(150 + rng() * 250);
      const name = rng() < 0.5 ? "a" : "b";
      const fake = fakes[name];
      const u = rng();
      if (u < 0.45) {
        fake.dropConnections();
        faults.drop++;
      } else if (u < 0.65) {
        fake.failNext(2, 500);
        faults.fail++;
      } else if (compactionAllowed(name)) {
        fake.expire({ notifyWatches: true });
        faults.expire++;
        expires.push(`${name}@${Date.now() - marks.start!}:${proc ? "up" : "down"}`);
      }
    }
  })();

  // Drive both clusters: ~25 units in progress each, one step at a time, in random order.
  const lanes = { a: { queue: [...plan.a], active: [] as Unit[] }, b: { queue: [...plan.b], active: [] as Unit[] } };
  const stepOnce = (c: "a" | "b"): boolean => {
    const fake = fakes[c];
    const { queue, active } = lanes[c];
    while (active.length < 25 && queue.length) active.push(queue.shift()!);
    if (!active.length) return false;
    const i = Math.floor(rng() * active.length);
    const u = active[i]!;
    const stage = Math.floor(u.step / u.runs.length);
    const run = u.runs[u.step % u.runs.length]!;
    apply(fake, run, stage);
    if (stage === 3) finishedAt.set(run.uid, Date.now());
    u.step++;
    applied++;
    if (u.step === steps(u)) {
      active.splice(i, 1);
      if (u.prune === "now") prune(fake, u);
      else if (u.prune === "soon") pending.push(sleep(rng() * 500).then(() => prune(fake, u)));
    }
    return true;
  };
  const kill = async () => {
    // Kill only once the watcher has stored past the last compaction (else what it
    // received and had not stored would be beyond recovery, finalizers aside).
    killing = true;
    await waitFor("stored past the last compaction", () => savedPast("a", fakes.a.compactedAt) && savedPast("b", fakes.b.compactedAt), 30_000);
    // A burst, so the watcher has plenty received and not yet stored when it dies.
    const burst = Date.now();
    for (let k = 0; k < 800; k++) {
      stepOnce("a");
      stepOnce("b");
    }
    // ... and dies just after saving a resume point mid-way through it.
    const savedSince = (t: number) =>
      progress.query<{ n: number }, [number]>("SELECT count(*) AS n FROM watch_streams WHERE stream = 'taskruns' AND updated_at > ?").get(t)!.n === 2;
    await waitFor("a save during the burst", () => savedSince(burst + 20), 5000, 5).catch(() => undefined);
    rvAtKill = { a: fakes.a.resourceVersion, b: fakes.b.resourceVersion };
    marks.kill = Date.now();
    oldProc = proc;
    proc!.signal("SIGKILL");
    await proc!.waitExit();
    proc = null;
    // The clusters move on (and prune) while it is down.
    pending.push(
      sleep(1200).then(async () => {
        marks.restart = Date.now();
        proc = await start();
        marks.ready = Date.now();
        killing = false;
      }),
    );
  };
  const drive = async (c: "a" | "b") => {
    for (;;) {
      let any = false;
      for (let k = 0; k < 3; k++) any = stepOnce(c) || any;
      if (!any && !lanes[c].active.length && !lanes[c].queue.length) return;
      await sleep(4);
      if (!killed && applied > allSteps / 2) {
        killed = true;
        await kill();
      }
    }
  };
  await Promise.all([drive("a"), drive("b")]);
  await Promise.all(pending);
  driving = false;
  await faulting;
  // Make the watcher acknowledge what its open watches received: drop them; it resumes from the last version it got.
  await sleep(1000);
  for (const f of [fakes.a, fakes.b]) f.dropConnections();
  await waitFor("watchers back", () => fakes.a.watchedResources().size === 3 && fakes.b.watchedResources().size === 3, 30_000);
  expect(killed).toBe(true);
  expect(faults.expire).toBeGreaterThan(0);
  expect(faults.drop).toBeGreaterThan(0);
  expect(faults.fail).toBeGreaterThan(0);

  // The oracle: runs whose completed state reached the watcher, or that it held by finalizer.
  const expected: Array<{ run: SimRun; result: string; cluster: "a" | "b"; want: string }> = [];
  let completed = 0;
  for (const c of ["a", "b"] as const) {
    for (const u of plan[c]) {
      for (const run of u.runs) {
        const want = doneState(run.final);
        if (!want) continue;
        completed++;
        if (fakes[c].delivered.get(run.uid) === want || fakes[c].heldByFinalizer.has(run.uid)) {
          expected.push({ run, result: `${run.ns}/results/${u.runs[0]!.uid}`, cluster: c, want });
        }
      }
    }
  }
  // Most completed runs are seen complete (not those created, finished and pruned while
  // the watcher was down or relisting); the test cannot pass vacuously.
  marks.end = Date.now();
  const undelivered = [...plan.a, ...plan.b].flatMap((u) => u.runs).filter((r) => doneState(r.final) && !expected.some((e) => e.run === r));
  const summary = JSON.stringify({ expires, marks: Object.fromEntries(Object.entries(marks).map(([k, v]) => [k, v - marks.start!])), faults, completed, expected: expected.length, undeliveredAt: undelivered.map((r) => (finishedAt.get(r.uid) ?? 0) - marks.start!).sort((a, b) => a - b).filter((_, i) => i % 10 === 0) });
  if (expected.length <= completed * 0.4) throw new Error(`too few runs seen complete to judge: ${summary}`);
  expect([...fakes.b.heldByFinalizer].length).toBeGreaterThan(0);

  progress.close();
  const reader = new Database(db, { readonly: true });
  const q = reader.query<{ parent: string; result_name: string; name: string; st: string }, []>(
    `SELECT parent, result_name, name, (data ->> '$.status.conditions[0].status') || ':' || (data ->> '$.status.conditions[0].reason') AS st FROM records`,
  );
  const missing = () => {
    const rows = new Map<string, string>();
    for (const r of q.all()) rows.set(`${r.parent}/results/${r.result_name}/records/${r.name}`, r.st);
    return expected.filter((e) => rows.get(`${e.result}/records/${e.run.uid}`) !== e.want);
  };
  try {
    await waitFor("every expected run stored in its final state", () => missing().length === 0, 30_000, 500);
  } catch (e) {
    const m = missing();
    const rows = new Map<string, string>();
    for (const r of q.all()) rows.set(`${r.parent}/results/${r.result_name}/records/${r.name}`, r.st);
    const detail = m.slice(0, 5).map((x) => {
      const live = fakes[x.cluster].get(x.run.resource, x.run.ns, x.run.name);
      return `${x.cluster}:${x.run.resource}/${x.run.name} want ${x.want}, stored ${rows.get(`${x.result}/records/${x.run.uid}`) ?? "nothing"}, delivered ${fakes[x.cluster].delivered.get(x.run.uid)}, held ${fakes[x.cluster].heldByFinalizer.has(x.run.uid)}, in cluster ${live ? JSON.stringify((live.metadata as Obj).finalizers) + " " + (live.metadata as Obj).deletionTimestamp : "no"}`;
    });
    if (process.env.LOST_LOG) writeFileSync(process.env.LOST_LOG, `${(oldProc as HindsightProcess | null)?.stderr}\n=====\n${(proc as HindsightProcess | null)?.stderr}\n=====\n${m.map((x) => `${x.cluster} ${x.run.uid} ${x.run.name}`).join("\n")}`);
    throw new Error(`${m.length} of ${expected.length} runs missing or not final:\n${detail.join("\n")}\n${summary}\nfaults ${JSON.stringify(faults)}\n${(e as Error).message}\n${proc?.stderr.split("\n").filter((l) => l.includes('"warn"') || l.includes('"error"')).slice(-20).join("\n")}`);
  }
  // Exactly once: one record per run uid, and one Result per PipelineRun group.
  const dupes = reader.query(`SELECT g_uid, count(*) AS n FROM records WHERE type LIKE 'tekton.dev/%' GROUP BY g_uid HAVING n > 1`).all();
  expect(dupes).toEqual([]);
  // Summaries of top-level runs carry the final status.
  const statusNum: Record<string, number> = { "True:Succeeded": 1, "True:Completed": 1, "False:Failed": 2, "False:PipelineRunTimeout": 3, "False:TaskRunTimeout": 3, "False:Cancelled": 4, "False:TaskRunCancelled": 4 };
  const sq = reader.query<{ s: number | null }, [string, string]>("SELECT summary_status AS s FROM results WHERE parent = ? AND name = ?");
  for (const e of expected) {
    if (e.run !== plan[e.cluster].find((u) => u.runs.includes(e.run))!.runs[0]) continue;
    const [parent, , name] = e.result.split("/");
    expect({ run: e.run.name, s: sq.get(parent!, name!)?.s }).toEqual({ run: e.run.name, s: statusNum[e.want] ?? 2 });
  }
  reader.close();
  const exit = await (proc as HindsightProcess | null)!.stop();
  expect(exit.code).toBe(0);
  await fakes.a.stop();
  await fakes.b.stop();
  removeDir(dir);
}, 240_000);
