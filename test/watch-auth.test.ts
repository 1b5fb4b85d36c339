// Every kubeconfig auth form against a fake HTTPS API server that checks
// client certificates and bearer tokens, through @kubernetes/client-node and
// Bun's fetch TLS options: CA data and file, client certificate and key
// (data and files), token, token file, an exec credential plugin,
// insecure-skip-tls-verify and tls-server-name; a wrong CA or host name
// fails with an error naming the cluster while the others flow.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeTestPki, type TestPki } from "./support/certs.ts";
import { FakeKube } from "./support/fake-kube.ts";
import { apply, makeRng, simTaskRun, testCluster, waitFor } from "./support/kube-sim.ts";
import { writeExecPlugin, writeKubeconfig } from "./support/kubeconfig.ts";
import { startTestServer, tempDir, type TestServer } from "./support/server.ts";

let pki: TestPki;
let fake: FakeKube;
/** A second server whose certificate names only kube.internal: reachable by IP only with tls-server-name. */
let named: FakeKube;
let srv: TestServer;
let dir: string;
const contexts = ["ca-data-cert-data", "ca-file-cert-files", "token", "token-file", "exec-plugin", "insecure", "tls-server-name", "wrong-ca", "wrong-name"];
const failing = ["wrong-ca", "wrong-name"];

beforeAll(async () => {
  pki = makeTestPki();
  fake = await new FakeKube({ tls: { cert: pki.server.cert, key: pki.server.key, clientCa: pki.ca.cert }, tokens: ["static-token", "file-token", "exec-token"], bookmarkIntervalMs: 200 }).start();
  const namedPki = makeTestPki({ serverDns: ["kube.internal"], serverIps: [] });
  named = await new FakeKube({ tls: { cert: namedPki.server.cert, key: namedPki.server.key }, tokens: ["static-token"], bookmarkIntervalMs: 200 }).start();
  dir = tempDir("hindsight-auth-");
  const tokenFile = join(dir, "token");
  writeFileSync(tokenFile, "file-token\n"); // as written by most tools: with a newline
  const plugin = writeExecPlugin(dir, "exec-token", join(dir, "plugin-runs"));
  const kc = writeKubeconfig(dir, "kubeconfig", [
    { name: "ca-data-cert-data", server: fake.url, ca: pki.ca.cert, user: { cert: pki.client.cert, key: pki.client.key } },
    { name: "ca-file-cert-files", server: fake.url, ca: pki.ca.cert, caFile: true, user: { cert: pki.client.cert, key: pki.client.key, files: true } },
    { name: "token", server: fake.url, ca: pki.ca.cert, user: { token: "static-token" } },
    { name: "token-file", server: fake.url, ca: pki.ca.cert, user: { tokenFile } },
    { name: "exec-plugin", server: fake.url, ca: pki.ca.cert, user: { exec: { command: plugin, args: ["--cluster", "x"] } } },
    { name: "insecure", server: fake.url, insecure: true, user: { token: "static-token" } },
    { name: "tls-server-name", server: named.url, ca: namedPki.ca.cert, tlsServerName: "kube.internal", user: { token: "static-token" } },
    { name: "wrong-ca", server: fake.url, ca: pki.otherCa.cert, user: { token: "static-token" } },
    { name: "wrong-name", server: named.url, ca: namedPki.ca.cert, user: { token: "static-token" } },
  ]);
  // Each context is its own cluster, in its own parent, so every one must connect for its run to land.
  srv = await startTestServer({ dir, deps: { clusters: contexts.map((c) => testCluster(c, kc, { parent: "{cluster}" })) } });
});

afterAll(async () => {
  await srv.close();
  await fake.stop();
  await named.stop();
});

test("every auth form connects and stores runs; a wrong CA is reported naming its cluster", async () => {
  const run = simTaskRun(makeRng(1), { namespace: "ns" });
  for (let s = 0; s < 4; s++) apply(fake, run, s);
  for (let s = 0; s < 4; s++) apply(named, run, s);
  for (const c of contexts.filter((c) => !failing.includes(c))) {
    await waitFor(`${c} stored the run`, () => srv.app.results.getRecord(`${c}/results/${run.uid}/records/${run.uid}`));
  }
  const st = await waitFor("wrong-ca reported", () => {
    const s = srv.app.watcher!.status().find((x) => x.name === "wrong-ca")!;
    return s.lastError ? s : null;
  });
  expect(st.state).toBe("unreachable");
  expect(st.lastError).toContain('cluster "wrong-ca"');
  expect(st.lastError).toMatch(/TLS: the server's certificate is not signed by the cluster's certificate-authority in the kubeconfig/);
  await expect(srv.app.results.getRecord(`wrong-ca/results/${run.uid}/records/${run.uid}`)).rejects.toThrow(/not found/);
  const wn = await waitFor("wrong-name reported", () => srv.app.watcher!.status().find((x) => x.name === "wrong-name")!.lastError);
  expect(wn).toContain('cluster "wrong-name"');
  expect(wn).toContain("does not name the host");
  // The plugin really ran (and its credential is cached, not re-run per request).
  const runs = readFileSync(join(dir, "plugin-runs"), "utf8").trim().split("\n").length;
  expect(runs).toBeGreaterThanOrEqual(1);
  expect(runs).toBeLessThan(5);
  for (const s of srv.app.watcher!.status().filter((x) => !failing.includes(x.name))) expect({ name: s.name, state: s.state }).toEqual({ name: s.name, state: "running" });
});

test("a kubeconfig context that does not exist stops the start with a message naming it", async () => {
  const kc = writeKubeconfig(dir, "other", [{ name: "only", server: fake.url, user: { token: "x" } }]);
  await expect(startTestServer({ dir: tempDir(), deps: { clusters: [testCluster("nope", kc)] } })).rejects.toThrow(/context "nope" is not in the kubeconfig .* \(contexts: only\)/);
});
