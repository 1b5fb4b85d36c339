// A 200 MB log through the real binary's code path in its own process:
// captured from the fake API server while the step runs, stored, and
// streamed back over REST byte-identical, with the server's resident
// memory (sampled from /proc) staying under 200 MB throughout.
import { afterAll, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FakeKube } from "./support/fake-kube.ts";
import { waitFor } from "./support/kube-sim.ts";
import { writeKubeconfig } from "./support/kubeconfig.ts";
import { PodRun } from "./support/log-sim.ts";
import { removeDir, startHindsight, tempDir, type HindsightProcess } from "./support/process.ts";

const TOTAL = 200 * 1024 * 1024;
const RSS_LIMIT_KIB = 200 * 1024;

let fake: FakeKube | null = null;
/** The stored 200 MB log's REST URL, for the slow and disconnecting readers. */
let bigLogUrl: string | null = null;
let srv: HindsightProcess | null = null;
const dir = tempDir("hindsight-big-log-");
afterAll(async () => {
  await srv?.stop().catch(() => undefined);
  await fake?.stop();
  removeDir(dir);
});

function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) : 0;
}

/** About 1 MiB of build-log lines, different for every `n`. */
function block(n: number): string {
  const out: string[] = [];
  let len = 0;
  for (let i = 0; len < 1024 * 1024; i++) {
    const line = `[${n}:${i}] CC src/module-${(n * 31 + i) % 977}/file-${i % 113}.c -O2 -Wall -fPIC -o build/obj/${(i * 7919) % 100003}.o (${(i * 37) % 1000} ms)\n`;
    out.push(line);
    len += line.length;
  }
  return out.join("");
}

test("200 MB log: captured and streamed back byte-identical, server RSS under 200 MB", async () => {
  fake = await new FakeKube({ tokens: ["t0ken"] }).start();
  const kc = writeKubeconfig(dir, "kubeconfig", [{ name: "c1", server: fake.url, user: { token: "t0ken" } }]);
  const watchFile = join(dir, "watch.yaml");
  writeFileSync(watchFile, `clusters:\n  - name: c1\n    kubeconfig: ${JSON.stringify(kc)}\n    context: c1\n    logs: true\n`);
  srv = await startHindsight({ db: join(dir, "h.db"), args: ["--watch-config", watchFile] });
  const pid = srv.proc.pid;
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, rssKiB(pid))), 50);
  try {
    const run = new PodRun(fake, { ns: "ci", name: "huge", steps: ["build"] }).create().startPod().start("step-build");
    await waitFor("the container followed", () => fake!.pods.followers() > 0, 30_000);
    const want = createHash("sha256");
    let written = 0;
    for (let n = 0; written < TOTAL; n++) {
      const text = block(n);
      run.write("step-build", text);
      want.update(text.replace(/^/gm, "[build] ").replace(/\[build\] $/, ""));
      written += Buffer.byteLength(text);
      if (n % 8 === 0) await Bun.sleep(1);
    }
    run.end("step-build").finish();
    const logUrl = `${srv.http}/apis/results.tekton.dev/v1alpha2/parents/ci/results/${run.uid}/logs/${run.uid}`;
    await waitFor("the log stored", async () => (await fetch(logUrl, { method: "GET" }).then(async (r) => (await r.body?.cancel(), r.status))) === 200, 120_000, 250);
    const resp = await fetch(logUrl);
    expect(resp.headers.get("content-type")).toStartWith("text/plain");
    const got = createHash("sha256");
    let read = 0;
    for await (const chunk of resp.body!) {
      got.update(chunk);
      read += chunk.byteLength;
    }
    expect(read).toBeGreaterThan(TOTAL);
    expect(got.digest("hex")).toBe(want.digest("hex"));
    bigLogUrl = logUrl;
  } finally {
    clearInterval(sampler);
  }
  console.log(`200 MB log: server peak RSS ${(peak / 1024).toFixed(0)} MiB`);
  expect(peak).toBeGreaterThan(0);
  expect(peak).toBeLessThan(RSS_LIMIT_KIB);
}, 300_000);

test("slow readers and readers that disconnect: memory stays bounded, nothing else waits, the log is intact", async () => {
  if (!srv || !bigLogUrl) throw new Error("needs the stored 200 MB log of the previous test");
  const pid = srv.proc.pid;
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, rssKiB(pid))), 50);
  try {
    // Three slow readers: a few KiB, then a pause, for 3 s; then they go away mid-stream.
    const slow = Array.from({ length: 3 }, async () => {
      const ac = new AbortController();
      const resp = await fetch(bigLogUrl!, { signal: ac.signal });
      const reader = resp.body!.getReader();
      let read = 0;
      const until = Date.now() + 3000;
      while (Date.now() < until) {
        const { value, done } = await reader.read();
        if (done) break;
        read += value.byteLength;
        await Bun.sleep(100);
      }
      ac.abort();
      return read;
    });
    // Meanwhile other requests are answered promptly.
    await Bun.sleep(500);
    const t0 = performance.now();
    expect((await fetch(`${srv.http}/healthz`)).status).toBe(200);
    expect(performance.now() - t0).toBeLessThan(1000);
    const reads = await Promise.all(slow);
    for (const r of reads) {
      expect(r).toBeGreaterThan(0);
      expect(r).toBeLessThan(TOTAL); // they really stopped part-way
    }
    // A reader that stops reading at once and disconnects.
    const ac = new AbortController();
    const resp = await fetch(bigLogUrl, { signal: ac.signal });
    expect(resp.status).toBe(200);
    ac.abort();
    await Bun.sleep(500);
  } finally {
    clearInterval(sampler);
  }
  console.log(`slow and disconnecting readers: server peak RSS ${(peak / 1024).toFixed(0)} MiB`);
  expect(peak).toBeLessThan(RSS_LIMIT_KIB);
  // The server is healthy and the log still streams whole.
  const whole = await fetch(bigLogUrl);
  let n = 0;
  for await (const chunk of whole.body!) n += chunk.byteLength;
  expect(n).toBeGreaterThan(TOTAL);
}, 120_000);
