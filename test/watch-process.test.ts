// The watcher from the command line: `hindsight serve --kubeconfig --context`
// (repeated), `--watch-config`, `hindsight status`, bad watch settings. The
// compiled binary's watch test is in binary.test.ts.
import { afterAll, afterEach, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { FakeKube } from "./support/fake-kube.ts";
import { apply, makeRng, simTaskRun, waitFor } from "./support/kube-sim.ts";
import { writeKubeconfig } from "./support/kubeconfig.ts";
import { freePort, killAllProcesses, removeDir, runCli, startHindsight, tempDir } from "./support/process.ts";

const fakes: FakeKube[] = [];
const dirs: string[] = [];
afterEach(killAllProcesses);
afterAll(async () => {
  for (const f of fakes) await f.stop();
  for (const d of dirs) removeDir(d);
});

async function fake(opts: ConstructorParameters<typeof FakeKube>[0] = {}): Promise<FakeKube> {
  const f = await new FakeKube({ tokens: ["tok"], bookmarkIntervalMs: 300, ...opts }).start();
  fakes.push(f);
  return f;
}

function dir(): string {
  const d = tempDir("hindsight-watchproc-");
  dirs.push(d);
  return d;
}

test("serve --kubeconfig --context a --context b, then status: one watching, one unreachable, then stopped", async () => {
  const a = await fake();
  const d = dir();
  const deadPort = await freePort();
  const kc = writeKubeconfig(d, "kubeconfig", [
    { name: "a", server: a.url, user: { token: "tok" } },
    { name: "b", server: `http://127.0.0.1:${deadPort}`, user: { token: "tok" } },
  ]);
  const db = join(d, "h.db");
  const p = await startHindsight({ db, args: ["--kubeconfig", kc, "--context", "a", "--context", "b"] });
  const run = simTaskRun(makeRng(1), { namespace: "ns" });
  for (let s = 0; s < 4; s++) apply(a, run, s);
  const client = p.client();
  await waitFor("run stored", () => client.getRecord({ name: `ns/results/${run.uid}/records/${run.uid}` }).catch(() => null));
  const st = await waitFor("status shows both", async () => {
    const r = await runCli(["status", "--db", db]);
    return /a\s+watching/.test(r.stdout) && /b\s+unreachable/.test(r.stdout) ? r : null;
  });
  expect(st.code).toBe(1); // not every cluster is connected
  expect(st.stdout).toMatch(/b \(\d+s ago\): cluster "b" \(http:\/\/127\.0\.0\.1:\d+\): connection refused/);
  const json = await runCli(["status", "--db", db, "--json", "--streams"]);
  const parsed = JSON.parse(json.stdout) as { clusters: Array<{ name: string; state: string; writes: number; streams: Array<{ stream: string }> }> };
  const ca = parsed.clusters.find((c) => c.name === "a")!;
  expect(ca.writes).toBeGreaterThanOrEqual(1);
  expect(ca.streams.map((s) => s.stream).sort()).toEqual(["customruns", "pipelineruns", "taskruns"]);
  // The log names the clusters it serves.
  expect(p.logLines().find((l) => l.msg === "hindsight serving")?.clusters).toEqual(["a", "b"]);
  expect((await p.stop()).code).toBe(0);
  const after = await runCli(["status", "--db", db]);
  expect(after.stdout).toMatch(/a\s+stopped/);
  expect(after.stdout).toMatch(/b\s+stopped/);
});

test("--watch-config: clusters with their own namespaces and parents; bad settings are refused naming the setting", async () => {
  const a = await fake();
  const d = dir();
  const kc = writeKubeconfig(d, "kubeconfig", [{ name: "ctx", server: a.url, user: { token: "tok" } }]);
  const cfg = join(d, "watch.yaml");
  writeFileSync(
    cfg,
    `clusters:
  - name: prod-eu
    kubeconfig: ${kc}
    context: ctx
    namespaces: [ci]
    parent: "{cluster}-{namespace}"
`,
  );
  const p = await startHindsight({ db: join(d, "h.db"), args: ["--watch-config", cfg] });
  const run = simTaskRun(makeRng(2), { namespace: "ci" });
  for (let s = 0; s < 4; s++) apply(a, run, s);
  const client = p.client();
  const rec = await waitFor("stored under prod-eu-ci", () => client.getRecord({ name: `prod-eu-ci/results/${run.uid}/records/${run.uid}` }).catch(() => null));
  expect(rec.data?.type).toBe("tekton.dev/v1.TaskRun");
  expect((await client.getResult({ name: `prod-eu-ci/results/${run.uid}` })).annotations["hindsight.dev/cluster"]).toBe("prod-eu");
  await p.stop();

  writeFileSync(cfg, `clusters:\n  - context: ctx\n    kubeconfig: ${kc}\n    parent: "{cluster}/{ns}"\n`);
  const bad = await runCli(["serve", "--db", join(d, "h2.db"), "--grpc-listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0", "--watch-config", cfg]);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain(`watch config ${cfg}: clusters[0].parent: unknown placeholder {ns}`);
  const missing = await runCli(["serve", "--db", join(d, "h3.db"), "--grpc-listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0", "--kubeconfig", kc, "--context", "nope"]);
  expect(missing.code).toBe(2);
  expect(missing.stderr).toContain('context "nope" is not in the kubeconfig');
  const help = await runCli(["--help"]);
  for (const f of ["--kubeconfig", "--context", "--watch-config", "hindsight status"]) expect(help.stdout).toContain(f);
});
