/**
 * The single executable: built once by scripts/build.ts (dist/hindsight is
 * reused when it is newer than every source and reports the current commit),
 * then a copy is run from an empty temporary directory with no node_modules
 * anywhere up its tree.
 */
import { Database } from "bun:sqlite";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import pkg from "../package.json" with { type: "json" };
import { build, expectedVersionLine, gitCommit, isFresh, OUTFILE, ROOT } from "../scripts/build.ts";
import { migrations } from "../src/store/migrations.ts";
import { Code, grpcError } from "./support/grpc-client.ts";
import { killAllProcesses, removeDir, runCli, startHindsight, tempDir } from "./support/process.ts";
import { makeTestPki } from "./support/certs.ts";
import { FakeKube } from "./support/fake-kube.ts";
import { apply, makeRng, simTaskRun, waitFor } from "./support/kube-sim.ts";
import { writeKubeconfig } from "./support/kubeconfig.ts";

let dir = "";
let binary = "";
const commit = gitCommit();

beforeAll(async () => {
  dir = tempDir("hindsight-binary-");
  let reuse = isFresh();
  if (reuse) {
    const v = await runCli(["--version"], { cmd: [OUTFILE], cwd: dir });
    reuse = v.code === 0 && v.stdout.trim() === expectedVersionLine(commit);
  }
  if (!reuse) build();
  binary = join(dir, "hindsight");
  copyFileSync(OUTFILE, binary);
}, 300_000);

afterEach(async () => {
  await killAllProcesses();
});

afterAll(() => {
  if (dir) removeDir(dir);
});

describe("dist/hindsight", () => {
  test("the copy runs from a directory with no node_modules anywhere above it", () => {
    expect(dir.startsWith(ROOT)).toBe(false);
    for (let d = dir; ; d = dirname(d)) {
      expect(existsSync(join(d, "node_modules"))).toBe(false);
      if (dirname(d) === d) break;
    }
    expect(statSync(binary).mode & 0o111).not.toBe(0);
  });

  test("--version prints the package version and the commit it was built from", async () => {
    const r = await runCli(["--version"], { cmd: [binary], cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(`hindsight ${pkg.version} (commit ${commit})`);
    expect(commit).not.toBe("dev");
  });

  test("the SQL migrations are embedded in the binary", async () => {
    const bin = Buffer.from(await Bun.file(binary).arrayBuffer());
    const migrationsDir = join(ROOT, "src", "store", "migrations");
    const files = readdirSync(migrationsDir).filter((f) => f.endsWith(".sql"));
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) {
      const sql = await Bun.file(join(migrationsDir, f)).text();
      expect({ file: f, embedded: bin.includes(Buffer.from(sql)) }).toEqual({ file: f, embedded: true });
    }
  });

  test("serves a fresh database over gRPC and REST and exits 0 on SIGTERM", async () => {
    const db = join(dir, "data", "h.db");
    const hp = await startHindsight({ cmd: [binary], cwd: dir, db });
    const serving = hp.logLines().find((l) => l.msg === "hindsight serving");
    expect(serving).toMatchObject({ version: pkg.version, commit, db, grpcPort: hp.port });

    const c = hp.client();
    const created = await c.createResult({
      parent: "bin",
      result: { name: "bin/results/pr-1", annotations: { "tekton.dev/pipeline": "build" } },
    });
    const got = await c.getResult({ name: "bin/results/pr-1" });
    expect(got).toEqual(created);
    expect(got.annotations).toEqual({ "tekton.dev/pipeline": "build" });

    const doc = { apiVersion: "tekton.dev/v1", kind: "TaskRun", metadata: { name: "tr-1" }, status: { podName: "tr-1-pod" } };
    await c.createRecord({
      parent: "bin/results/pr-1",
      record: { name: "bin/results/pr-1/records/tr-1", data: { type: "tekton.dev/v1.TaskRun", value: new TextEncoder().encode(JSON.stringify(doc)) } },
    });
    const rec = await c.getRecord({ name: "bin/results/pr-1/records/tr-1" });
    expect(JSON.parse(new TextDecoder().decode(rec.data!.value))).toEqual(doc);
    expect((await grpcError(c.getResult({ name: "bin/results/none" }))).code).toBe(Code.NOT_FOUND);
    // Lists and filters run on reader threads, whose code must be embedded too.
    const listed = await c.listRecords({ parent: "bin/results/-", filter: 'data.status.podName.matches("^tr-[0-9]-pod$")' });
    expect(listed.records.map((r) => r.name)).toEqual(["bin/results/pr-1/records/tr-1"]);

    // REST from the same binary (Elysia bundled without --minify: its range checks hold).
    const rest = await fetch(`${hp.http}/apis/results.tekton.dev/v1alpha2/parents/bin/results/pr-1/records/tr-1`);
    expect(rest.status).toBe(200);
    expect(JSON.parse(Buffer.from(((await rest.json()) as { data: { value: string } }).data.value, "base64").toString())).toEqual(doc);
    const range = await fetch(`${hp.http}/apis/results.tekton.dev/v1alpha2/parents/bin/results?page_size=99999999999`);
    expect(range.status).toBe(400);
    expect(((await range.json()) as { code: number }).code).toBe(3);
    expect((await fetch(`${hp.http}/openapi.json`)).status).toBe(200);

    const exit = await hp.stop("SIGTERM");
    if (exit.code !== 0) throw new Error(`exit ${JSON.stringify(exit)}\nstderr:\n${hp.stderr}`);
    expect(hp.logLines().map((l) => l.msg)).toContain("stopped");

    const file = new Database(db, { readonly: true });
    try {
      expect(file.query("SELECT version, name FROM schema_migrations ORDER BY version").all()).toEqual(
        migrations.map((m) => ({ version: m.version, name: m.name })),
      );
      expect(file.query("SELECT count(*) AS n FROM records").get()).toEqual({ n: 1 });
    } finally {
      file.close();
    }
  }, 120_000);
});

describe("dist/hindsight watching", () => {
  test("the binary watches an HTTPS cluster with a client certificate (kubeconfig TLS over Bun's fetch)", async () => {
    const pki = makeTestPki();
    const fake = await new FakeKube({ tls: { cert: pki.server.cert, key: pki.server.key, clientCa: pki.ca.cert }, bookmarkIntervalMs: 300 }).start();
    try {
      const kc = writeKubeconfig(dir, "kubeconfig", [{ name: "tls", server: fake.url, ca: pki.ca.cert, user: { cert: pki.client.cert, key: pki.client.key } }]);
      const p = await startHindsight({ cmd: [binary], cwd: dir, db: join(dir, "watch.db"), args: ["--kubeconfig", kc] });
      const run = simTaskRun(makeRng(3), { namespace: "ns" });
      for (let s = 0; s < 4; s++) apply(fake, run, s);
      const client = p.client();
      const rec = await waitFor("stored by the binary", () => client.getRecord({ name: `ns/results/${run.uid}/records/${run.uid}` }).catch(() => null));
      expect(rec.data?.type).toBe("tekton.dev/v1.TaskRun");
      await waitFor("connected, on /metrics", async () => (await (await fetch(`${p.http}/metrics`)).text()).includes('hindsight_watch_connected{cluster="tls"} 1'));
      expect((await p.stop()).code).toBe(0);
    } finally {
      await fake.stop();
    }
  });
});
