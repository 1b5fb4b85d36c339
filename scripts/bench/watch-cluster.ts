/**
 * The watch benchmark's cluster: the test suite's FakeKube in a process of
 * its own (so its gigabyte of runs never counts against the watcher), loaded
 * with `--runs` finished runs that exist before anyone watches, then, on
 * command, moving new runs through their lifecycles at a fixed rate.
 *
 * Runs are stamped out of generated PipelineRun groups (test/support/data.ts,
 * shaped like the real fixtures): each copy gets fresh uids and names by
 * joining pre-split template text, which makes 100k runs in seconds.
 *
 * Protocol: prints `{"url": ..., "runs": N}` on stdout when serving. Reads
 * commands on stdin, one per line:
 *   steady <updates per second> <seconds>   run lifecycles; each update carries
 *                                            the annotation bench/applied-at (ms);
 *                                            prints {"steady": {...}} when done
 *   stop                                     exit
 */
import { randomUUID } from "node:crypto";
import { FakeKube, type Obj } from "../../test/support/fake-kube.ts";
import { makeRng, simGroup, type SimRun } from "../../test/support/kube-sim.ts";
import { argMap, progress } from "./lib.ts";

const args = argMap(process.argv.slice(2));
const RUNS = Number(args.runs ?? 100_000);
const TEMPLATES = Number(args.templates ?? 150);

const rng = makeRng(Number(args.seed ?? 42));
const groups: SimRun[][] = [];
for (let i = 0; i < TEMPLATES; i++) {
  const g = simGroup(rng, { namespace: `team-${i % 8}`, apiVersion: "tekton.dev/v1" });
  for (const r of g) for (const o of r.stages) delete (o.metadata as Obj).finalizers;
  groups.push(g);
}

/** A template's text split on its uids and the PipelineRun's name, to be joined with new ones. */
interface Template {
  resource: string;
  parts: string[];
  /** For each gap between parts: an index into the copy's uids, or -1 for the name suffix. */
  holes: number[];
  ns: string;
  name: string;
  done: string | null;
}

const SEP = "\u0001";
function template(o: Obj, uids: string[], prName: string, resource: string): Template {
  let text = JSON.stringify(o);
  uids.forEach((u, k) => (text = text.replaceAll(u, `${SEP}${k}${SEP}`)));
  text = text.replaceAll(prName, `${prName}${SEP}n${SEP}`);
  const raw = text.split(SEP);
  const parts: string[] = [];
  const holes: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    if (i % 2 === 0) parts.push(raw[i]!);
    else holes.push(raw[i] === "n" ? -1 : Number(raw[i]));
  }
  const m = o.metadata as Obj;
  const c = ((o.status as Obj).conditions as Obj[]).find((x) => x.type === "Succeeded");
  return { resource, parts, holes, ns: m.namespace as string, name: m.name as string, done: c && c.status !== "Unknown" ? `${c.status}:${c.reason}` : null };
}

function stamp(t: Template, uids: string[], suffix: string): string {
  let s = t.parts[0]!;
  for (let i = 0; i < t.holes.length; i++) s += (t.holes[i] === -1 ? suffix : uids[t.holes[i]!]) + t.parts[i + 1]!;
  return s;
}

/** Finished states of each group's runs, as templates; existing runs get resourceVersion "0" (bulkLoad fills it). */
const finished = groups.map((g) => {
  const uids = g.map((r) => r.uid);
  return g.map((r) => {
    const o = structuredClone(r.final);
    (o.metadata as Obj).resourceVersion = "0";
    return template(o, uids, g[0]!.name, r.resource);
  });
});

const fake = new FakeKube({ tokens: ["bench"], bookmarkIntervalMs: 1000, historyLimit: 20_000 });
const t0 = performance.now();
const byResource: Record<string, Array<{ text: string; uid: string; ns: string; name: string; done: string | null }>> = { taskruns: [], pipelineruns: [] };
let n = 0;
for (let copy = 0; n < RUNS; copy++) {
  const g = finished[copy % finished.length]!;
  const prName = groups[copy % finished.length]![0]!.name;
  const uids = g.map(() => randomUUID());
  const suffix = `-c${copy}`;
  for (let k = 0; k < g.length && n < RUNS; k++, n++) {
    const t = g[k]!;
    byResource[t.resource]!.push({ text: stamp(t, uids, suffix), uid: uids[k]!, ns: t.ns, name: t.name.replace(prName, prName + suffix), done: t.done });
  }
}
for (const [r, items] of Object.entries(byResource)) fake.bulkLoad(r, items);
byResource.taskruns = [];
byResource.pipelineruns = [];
progress(`watch cluster: ${n} runs loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
await fake.start();
process.stdout.write(JSON.stringify({ url: fake.url, runs: n }) + "\n");

/** Lifecycles of new runs at `rate` updates/s for `seconds`; finished groups are pruned (deleted). */
async function steady(rate: number, seconds: number): Promise<Record<string, number>> {
  interface Live {
    runs: SimRun[];
    uids: string[];
    step: number;
    suffix: string;
  }
  const active: Live[] = [];
  let seq = 0;
  let updates = 0;
  let pruned = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  const newGroup = (): Live => {
    const g = groups[seq % groups.length]!;
    return { runs: g, uids: g.map(() => randomUUID()), step: 0, suffix: `-s${seq++}` };
  };
  const objFor = (l: Live, run: SimRun, stage: number): Obj => {
    const o = structuredClone(run.stages[stage]!) as Obj;
    let text = JSON.stringify(o);
    l.runs.forEach((r, k) => (text = text.replaceAll(r.uid, l.uids[k]!)));
    text = text.replaceAll(l.runs[0]!.name, l.runs[0]!.name + l.suffix);
    const out = JSON.parse(text) as Obj;
    const m = out.metadata as Obj;
    m.annotations = { ...((m.annotations as Obj) ?? {}), "bench/applied-at": String(Date.now()) };
    return out;
  };
  while (performance.now() < end) {
    const due = Math.floor(((performance.now() - start) / 1000) * rate);
    while (updates < due) {
      while (active.length < 20) active.push(newGroup());
      const l = active[Math.floor(rng() * active.length)]!;
      const stage = Math.floor(l.step / l.runs.length);
      const run = l.runs[l.step % l.runs.length]!;
      const o = objFor(l, run, stage);
      if (stage === 0) fake.create(run.resource, o);
      else fake.update(run.resource, o);
      updates++;
      l.step++;
      if (l.step === l.runs.length * run.stages.length) {
        active.splice(active.indexOf(l), 1);
        const top = l.runs[0]!;
        fake.remove(top.resource, top.ns, top.name + l.suffix);
        pruned++;
      }
    }
    await Bun.sleep(5);
  }
  return { updates, groupsPruned: pruned, seconds: (performance.now() - start) / 1000 };
}

for await (const line of console) {
  const [cmd, a, b] = line.trim().split(/\s+/);
  if (cmd === "steady") {
    const r = await steady(Number(a), Number(b));
    process.stdout.write(JSON.stringify({ steady: r }) + "\n");
  } else if (cmd === "stop") {
    await fake.stop();
    process.exit(0);
  }
}
