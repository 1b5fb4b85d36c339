// Issue 8 through the real binary's command line: `hindsight token create`
// against a database, then `serve --auth-mode token` honouring it; `serve
// --auth-mode kubernetes` asking a (fake) cluster; and the refusal of
// `--auth-mode none` beyond loopback.
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { killAllProcesses, removeDir, runCli, startHindsight, tempDir } from "./support/process.ts";
import { NS_A, startKubeAuthCluster, tokenOf } from "./support/kube-auth.ts";

const dirs: string[] = [];
afterAll(async () => {
  await killAllProcesses();
  for (const d of dirs) removeDir(d);
});

test("a token made by the CLI opens the API of a server in token mode; without it, 401; revoked, 401 again", async () => {
  const dir = tempDir();
  dirs.push(dir);
  const db = join(dir, "h.db");
  const created = await runCli(["token", "create", "--db", db, "--name", "ci", "--role", "viewer"]);
  expect(created.code).toBe(0);
  const secret = created.stdout.trimEnd().split("\n").at(-1)!;
  expect(secret).toStartWith("hst_");
  const hp = await startHindsight({ db, args: ["--auth-mode", "token"] });
  const url = `http://127.0.0.1:${hp.httpPort}/apis/results.tekton.dev/v1alpha2/parents/-/results`;
  expect((await fetch(url)).status).toBe(401);
  expect((await fetch(url, { headers: { authorization: `Bearer ${secret}` } })).status).toBe(200);
  expect((await fetch(url, { method: "POST", headers: { authorization: `Bearer ${secret}` }, body: "{}" })).status).toBe(403);
  // Revoked by another process while the server runs: refused within the cache second.
  expect((await runCli(["token", "revoke", "--db", db, "ci"])).code).toBe(0);
  await Bun.sleep(1100);
  expect((await fetch(url, { headers: { authorization: `Bearer ${secret}` } })).status).toBe(401);
  await hp.stop("SIGTERM");
});

test("--auth-mode none beyond loopback stops the start and says why", async () => {
  const dir = tempDir();
  dirs.push(dir);
  const r = await runCli(["serve", "--db", join(dir, "h.db"), "--auth-mode", "none", "--grpc-listen", "127.0.0.1:0", "--http-listen", "0.0.0.0:0"]);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain("--auth-mode none is only allowed when every listener is on loopback, but --http-listen 0.0.0.0:0");
});

test("serve --auth-mode kubernetes --auth-kubeconfig: the cluster's tokens and RBAC decide; an unusable kubeconfig stops the start", async () => {
  const dir = tempDir();
  dirs.push(dir);
  const cluster = await startKubeAuthCluster(dir);
  try {
    const hp = await startHindsight({ db: join(dir, "h.db"), args: ["--auth-mode", "kubernetes", "--auth-kubeconfig", cluster.kubeconfig, "--auth-cache-ttl", "0"] });
    const url = (ns: string) => `http://127.0.0.1:${hp.httpPort}/apis/results.tekton.dev/v1alpha2/parents/${ns}/results`;
    const as = (user: string) => ({ headers: { authorization: `Bearer ${tokenOf(user)}` } });
    expect((await fetch(url(NS_A))).status).toBe(401);
    expect((await fetch(url(NS_A), as("reader"))).status).toBe(200);
    expect((await fetch(url("ns-b"), as("reader"))).status).toBe(403);
    expect((await fetch(url(NS_A), { method: "POST", body: "{}", ...as("reader") })).status).toBe(403);
    await hp.stop("SIGTERM");
  } finally {
    await cluster.kube.stop();
  }
  const r = await runCli(["serve", "--db", join(dir, "h2.db"), "--auth-mode", "kubernetes", "--auth-kubeconfig", join(dir, "absent.kubeconfig"), "--grpc-listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0"]);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain("--auth-mode kubernetes: cannot use --auth-kubeconfig");
});
