import { expect, test } from "bun:test";
import type { KubeObject } from "./mapping.ts";
import { Pipeline, type Job } from "./pipeline.ts";

const obj = (uid: string, rv: string): KubeObject => ({ metadata: { uid, resourceVersion: rv } });
const job = (uid: string, rv: string): Job => ({ obj: obj(uid, rv), type: "MODIFIED", receivedAt: performance.now() });
const cp = (rv: string) => ({ resourceVersion: rv, listContinue: null });
const tick = () => new Promise((r) => setTimeout(r, 0));

/** A process function whose calls finish when the test says so. */
function gate() {
  const pending = new Map<string, Array<{ rv: string; ok: () => void; fail: (e: unknown) => void }>>();
  const order: string[] = [];
  return {
    order,
    process: (j: Job) =>
      new Promise<void>((ok, fail) => {
        const uid = j.obj.metadata!.uid!;
        order.push(`${uid}@${j.obj.metadata!.resourceVersion}`);
        if (!pending.has(uid)) pending.set(uid, []);
        pending.get(uid)!.push({ rv: j.obj.metadata!.resourceVersion!, ok, fail });
      }),
    finish(uid: string, err?: unknown) {
      const p = pending.get(uid)!.shift()!;
      if (err) p.fail(err);
      else p.ok();
    },
  };
}

test("the resume point moves only past events that are stored, in order", async () => {
  const g = gate();
  const p = new Pipeline({ window: 10, process: g.process, retryable: () => false, onError: () => {} });
  p.submit(job("a", "1"), cp("1"));
  p.submit(job("b", "2"), cp("2"));
  p.submit(job("c", "3"), cp("3"));
  await tick();
  g.finish("b");
  g.finish("c");
  await tick();
  expect(p.checkpoint).toBeNull(); // "a" is not stored: nothing after it counts
  expect(p.lagMs()).toBeGreaterThanOrEqual(0);
  g.finish("a");
  await tick();
  expect(p.checkpoint).toEqual(cp("3"));
  p.mark(cp("9")); // a bookmark with nothing pending
  expect(p.checkpoint).toEqual(cp("9"));
});

test("one object's states are applied in order; a newer waiting state replaces an older one", async () => {
  const g = gate();
  const p = new Pipeline({ window: 10, process: g.process, retryable: () => false, onError: () => {} });
  p.submit(job("a", "1"), cp("1"));
  p.submit(job("a", "2"), cp("2"));
  p.submit(job("a", "3"), cp("3"));
  await tick();
  expect(g.order).toEqual(["a@1"]); // 2 and 3 wait; 3 replaced 2
  g.finish("a");
  await tick();
  expect(g.order).toEqual(["a@1", "a@3"]);
  expect(p.checkpoint).toEqual(cp("1"));
  g.finish("a");
  await tick();
  expect(p.checkpoint).toEqual(cp("3"));
  await p.idle();
});

test("a full window holds the reader back until events are stored", async () => {
  const g = gate();
  const p = new Pipeline({ window: 2, process: g.process, retryable: () => false, onError: () => {} });
  await p.reserve();
  p.submit(job("a", "1"), cp("1"));
  await p.reserve();
  p.submit(job("b", "2"), cp("2"));
  let got = false;
  const r = p.reserve().then(() => (got = true));
  await tick();
  expect(got).toBe(false);
  g.finish("a");
  await r;
  expect(got).toBe(true);
});

test("failures retry; giving up counts as done; stopping abandons retries without moving the resume point", async () => {
  const errors: Array<[string, boolean]> = [];
  let calls = 0;
  const p = new Pipeline({
    window: 10,
    retryInitialMs: 5,
    retryMaxMs: 10,
    process: async (j) => {
      calls++;
      if (j.obj.metadata!.uid === "bad") throw new Error("refused");
      if (j.obj.metadata!.uid === "flaky" && calls < 3) throw new Error("transient");
      if (j.obj.metadata!.uid === "stuck") throw new Error("down");
    },
    retryable: (e) => (e as Error).message !== "refused",
    onError: (e, j, retry) => errors.push([`${j.obj.metadata!.uid}: ${(e as Error).message}`, retry]),
  });
  p.submit(job("flaky", "1"), cp("1"));
  p.submit(job("bad", "2"), cp("2"));
  await new Promise((r) => setTimeout(r, 100));
  expect(p.checkpoint).toEqual(cp("2"));
  expect(errors).toContainEqual(["bad: refused", false]);
  expect(errors).toContainEqual(["flaky: transient", true]);
  p.submit(job("stuck", "3"), cp("3"));
  await new Promise((r) => setTimeout(r, 50));
  await p.stop();
  expect(p.checkpoint).toEqual(cp("2"));
});
