/**
 * Drives a FakeKube like a Tekton controller would: runs built from the
 * generator in data.ts (shaped like the real fixtures) go through their
 * lifecycle (Pending -> Running -> Running -> final), PipelineRuns with
 * their TaskRuns, optionally deleted right after completion (a pruner).
 * Also: cluster specs with fast timings for tests, and a poll helper.
 */
import { DEFAULT_CLUSTER, type ClusterSpec } from "../../src/watch/config.ts";
import { generateRun, generateRunGroup, lifecycle, makeRng, newGroupContext, type Obj, type Rng, type RunState } from "./data.ts";
import type { FakeKube } from "./fake-kube.ts";

export interface SimRun {
  resource: "taskruns" | "pipelineruns";
  uid: string;
  ns: string;
  name: string;
  /** States in order; the last is final. */
  stages: Obj[];
  /** For PipelineRuns: uid of the result its TaskRuns share. */
  final: Obj;
}

/** Drops the annotations an upstream watcher wrote into the generated objects (results.tekton.dev/*). */
export function clean(o: Obj): Obj {
  const m = o.metadata as Obj;
  const a = (m.annotations as Obj | undefined) ?? {};
  for (const k of Object.keys(a)) if (k.startsWith("results.tekton.dev/")) delete a[k];
  delete m.resourceVersion;
  return o;
}

function toSim(final: Obj, stages: number): SimRun {
  const m = final.metadata as Obj;
  return {
    resource: final.kind === "PipelineRun" ? "pipelineruns" : "taskruns",
    uid: m.uid as string,
    ns: m.namespace as string,
    name: m.name as string,
    stages: lifecycle(final, stages).map((s) => clean(s)),
    final: clean(structuredClone(final)),
  };
}

/** A PipelineRun and its TaskRuns (2..11), each with `stages` states. */
export function simGroup(rng: Rng, opts: { namespace?: string; taskRuns?: number; stages?: number; apiVersion?: "tekton.dev/v1" | "tekton.dev/v1beta1" } = {}): SimRun[] {
  const g = generateRunGroup(rng, { namespace: opts.namespace, taskRuns: opts.taskRuns });
  const all = [g.pipelineRun, ...g.taskRuns];
  if (opts.apiVersion) for (const o of all) o.apiVersion = opts.apiVersion;
  return all.map((o) => toSim(o, opts.stages ?? 4));
}

/** A standalone TaskRun (no owner) ending in `state`. */
export function simTaskRun(rng: Rng, opts: { namespace?: string; state?: RunState; stages?: number } = {}): SimRun {
  const g = newGroupContext(rng, { namespace: opts.namespace });
  const o = generateRun(rng, { kind: "TaskRun", group: g, state: opts.state ?? "succeeded" });
  delete (o.metadata as Obj).ownerReferences;
  const labels = (o.metadata as Obj).labels as Obj;
  delete labels["tekton.dev/pipelineRun"];
  delete labels["tekton.dev/pipelineTask"];
  return toSim(o, opts.stages ?? 4);
}

/** Sets the Succeeded condition of a run's final state (failure reasons, timeouts, cancels). */
export function withCondition(run: SimRun, status: "True" | "False" | "Unknown", reason: string): SimRun {
  for (const o of [run.final, run.stages[run.stages.length - 1]!]) {
    const st = o.status as Obj;
    st.conditions = [{ type: "Succeeded", status, reason, message: reason, lastTransitionTime: st.startTime ?? null }];
  }
  return run;
}

/** Creates the first state, then each next one. */
export function apply(fake: FakeKube, run: SimRun, stage: number): void {
  const o = run.stages[stage]!;
  if (stage === 0) fake.create(run.resource, o);
  else fake.update(run.resource, o);
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls until `fn` returns a truthy value or the timeout passes (then throws with `what`). */
export async function waitFor<T>(what: string, fn: () => T | Promise<T>, timeoutMs = 20_000, everyMs = 50): Promise<Exclude<T, null | undefined | false | 0 | "">> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as Exclude<T, null | undefined | false | 0 | "">;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ""}`);
    await sleep(everyMs);
  }
}

/**
 * A cluster spec with timings fit for tests (fast retries, short idle
 * timeout, frequent saves). Log capture is off unless asked for: the run
 * tests count records, and Log records would be among them
 * (test/watch-logs.test.ts turns it on).
 */
export function testCluster(name: string, kubeconfig: string, over: Partial<ClusterSpec> = {}): ClusterSpec {
  const base = { ...structuredClone(DEFAULT_CLUSTER), logs: false };
  return {
    name,
    kubeconfig,
    context: name,
    ...base,
    ...over,
    tuning: { ...base.tuning, pageSize: 50, backoffInitialMs: 50, backoffMaxMs: 500, idleTimeoutMs: 3000, watchTimeoutSeconds: 60, saveIntervalMs: 100, ...over.tuning },
    cleanup: { ...base.cleanup, requeueMs: 500, ...over.cleanup },
  };
}

export { makeRng };
