/**
 * The appliance, through the compiled binary: config file and its errors,
 * online backup during a write burst and restore, the automatic backup and
 * upgrade of a first-schema database, retention from the CLI and on its
 * schedule after a SIGHUP reload, /readyz and `version`.
 */
import { Database } from "bun:sqlite";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { RecordSummary_Status as S } from "../src/gen/resources_pb.ts";
import { migrations, SCHEMA_VERSION } from "../src/store/migrations.ts";
import { binaryIn } from "./support/binary.ts";
import type { Client } from "./support/grpc-client.ts";
import type { Results } from "../src/gen/api_pb.ts";
import { killAllProcesses, removeDir, runCli, sleep, startHindsight, tempDir } from "./support/process.ts";

let dir = "";
let binary = "";
const cli = (args: string[], env: Record<string, string> = {}) => runCli(args, { cmd: [binary], cwd: dir, env });
const enc = new TextEncoder();
const DAY = 86_400_000;

beforeAll(async () => {
  dir = tempDir("hindsight-appliance-");
  binary = await binaryIn(dir);
}, 300_000);

afterEach(async () => {
  await killAllProcesses();
});

afterAll(() => {
  if (dir) removeDir(dir);
});

function noStackTrace(stderr: string) {
  expect(stderr).not.toMatch(/\bat .*:\d+:\d+/);
}

describe("configuration", () => {
  test("the example is a valid config; a file's settings are used and flags override them", async () => {
    const example = await cli(["config", "example"]);
    expect(example.code).toBe(0);
    const file = join(dir, "example.yaml");
    writeFileSync(file, example.stdout);
    const check = await cli(["config", "check", "--config", file]);
    expect({ code: check.code, stderr: check.stderr }).toEqual({ code: 0, stderr: "" });
    expect(check.stdout).toContain(`config file ${file}: valid`);

    const db = join(dir, "from-file.db");
    const cfg = join(dir, "serve.yaml");
    writeFileSync(cfg, `db: ${db}\nlog: { format: logfmt, level: info }\nhttp: { listen: "127.0.0.1:0" }\n`);
    // No --db: the file's db is used; --grpc-listen comes from the flag.
    const hp = await startHindsight({ cmd: [binary], cwd: dir, db: null, args: ["--config", cfg] });
    try {
      await sleep(100);
      expect(hp.stderr).toMatch(/level=info msg="hindsight serving" .*db=\S*from-file\.db/);
      expect(existsSync(db)).toBe(true);
      // Every subcommand takes --config: version finds the same database.
      const v = await cli(["version", "--config", cfg]);
      expect(v.stdout).toContain(`database ${db}: schema version ${SCHEMA_VERSION}`);
    } finally {
      expect((await hp.stop()).code).toBe(0);
    }
  });

  test("a bad config stops the start naming the key, the value and what is allowed", async () => {
    const cfg = join(dir, "bad.yaml");
    writeFileSync(cfg, `grpc:\n  listen: 50051\nretention:\n  maxAge: soon\n  rules:\n    - { namespaces: [ci], statuses: [passed], maxAge: 7d }\nlogs: {}\n`);
    const r = await cli(["serve", "--config", cfg, "--db", join(dir, "never.db")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`config file ${cfg}: retention.rules[0].statuses[0]: "passed" is not allowed: expected success, failure, timeout, cancelled, unknown`);
    expect(r.stderr).toContain("logs: unknown key (known keys here: db, readers");
    noStackTrace(r.stderr);
    expect(existsSync(join(dir, "never.db"))).toBe(false);

    writeFileSync(cfg, `grpc:\n  listen: 50051\n`);
    const r2 = await cli(["config", "check", "--config", cfg]);
    expect(r2.code).toBe(2);
    expect(r2.stderr.trim()).toBe(`hindsight: config file ${cfg}: grpc.listen: 50051 is not allowed: expected HOST:PORT`);
    writeFileSync(cfg, `grpc:\n  listen: ":50051"\n`);
    const r2b = await cli(["config", "check", "--config", cfg]);
    expect(r2b.stderr.trim()).toBe(`hindsight: config file ${cfg}: grpc.listen: ":50051" is not HOST:PORT (examples: 127.0.0.1:50051, [::1]:50051, 0.0.0.0:50051)`);

    writeFileSync(cfg, `retention:\n  rules:\n    - { filter: 'annotations[', maxAge: 1d }\n`);
    const r3 = await cli(["config", "check", "--config", cfg]);
    expect(r3.code).toBe(2);
    expect(r3.stderr).toContain("retention.rules[0].filter");
    noStackTrace(r3.stderr);

    const r4 = await cli(["backup", "--config", join(dir, "absent.yaml"), join(dir, "x.db")]);
    expect(r4.code).toBe(2);
    expect(r4.stderr).toContain("absent.yaml: cannot read it (no such file)");
  });
});

/** Writers creating a result and a record each, until stopped; names of acknowledged records. */
function writeBurst(c: Client<typeof Results>, workers: number) {
  const acked: string[] = [];
  let stop = false;
  const pad = "x".repeat(6000);
  const loops = Array.from({ length: workers }, async (_, w) => {
    for (let i = 0; !stop; i++) {
      const result = `burst/results/w${w}-${i}`;
      await c.createResult({ parent: "burst", result: { name: result } });
      const doc = { kind: "TaskRun", metadata: { name: `w${w}-${i}`, labels: { w: String(w) } }, pad };
      await c.createRecord({ parent: result, record: { name: `${result}/records/tr`, data: { type: "tekton.dev/v1.TaskRun", value: enc.encode(JSON.stringify(doc)) } } });
      acked.push(`${result}/records/tr`);
    }
  });
  return {
    acked,
    async stop() {
      stop = true;
      await Promise.all(loops);
    },
  };
}

function recordNames(path: string): Set<string> {
  const db = new Database(path, { readonly: true });
  try {
    return new Set(db.query<{ n: string }, []>("SELECT parent || '/results/' || result_name || '/records/' || name AS n FROM records").all().map((r) => r.n));
  } finally {
    db.close();
  }
}

describe("backup and restore", () => {
  test("a backup taken during a write burst holds every record acknowledged before it began and passes integrity_check; restore refuses a served database", async () => {
    const db = join(dir, "burst.db");
    const hp = await startHindsight({ cmd: [binary], cwd: dir, db });
    const c = hp.client();
    const burst = writeBurst(c, 4);
    while (burst.acked.length < 1500) await sleep(20);
    const before = [...burst.acked];
    const out = join(dir, "backups", "burst-1.db");
    const r = await cli(["backup", out, "--db", db]);
    const during = burst.acked.length - before.length;
    await burst.stop();
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    expect(r.stdout).toMatch(/^backup .*burst-1\.db: [\d.]+ MiB, schema version \d+, [\d.]+ s \(\d+ MB\/s\)\n$/);
    // The service kept taking writes while the backup ran.
    expect(during).toBeGreaterThan(0);

    const copy = new Database(out, { readonly: true });
    try {
      expect(copy.query("PRAGMA integrity_check").all()).toEqual([{ integrity_check: "ok" }]);
      expect(copy.query("PRAGMA foreign_key_check").all()).toEqual([]);
    } finally {
      copy.close();
    }
    const inBackup = recordNames(out);
    expect(before.filter((n) => !inBackup.has(n))).toEqual([]);
    // A consistent snapshot: no record without its result.
    expect(inBackup.size).toBeLessThanOrEqual(burst.acked.length);

    // An existing path is never overwritten.
    const again = await cli(["backup", out, "--db", db]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain("already exists");

    // Restore while the service runs: refused, naming the process.
    const refused = await cli(["restore", out, "--db", db]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`is being served by process ${hp.proc.pid}`);

    const ready = await fetch(`${hp.http}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: "READY", checks: { schema: "ok", writable: "ok" } });
    expect((await hp.stop()).code).toBe(0);

    // A file that is not a database is refused before anything is touched.
    const junk = join(dir, "junk.db");
    writeFileSync(junk, "not a database at all, but long enough to look like one ".repeat(100));
    const bad = await cli(["restore", junk, "--db", db]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/junk\.db (is not a valid SQLite database|fails the integrity check|cannot be opened)/);

    const restored = await cli(["restore", out, "--db", db]);
    expect(restored.code).toBe(0);
    expect(restored.stdout).toContain("integrity ok");
    expect(restored.stdout).toMatch(/the database it replaced is kept at .*burst\.db\.before-restore-/);
    expect(recordNames(db)).toEqual(inBackup);

    const again2 = await startHindsight({ cmd: [binary], cwd: dir, db });
    try {
      const n = (await again2.client().listRecords({ parent: "burst/results/-", pageSize: 1000 })).records.length;
      expect(n).toBe(Math.min(1000, inBackup.size));
      const first = before[0]!;
      expect((await again2.client().getRecord({ name: first })).name).toBe(first);
    } finally {
      expect((await again2.stop()).code).toBe(0);
    }
  }, 180_000);

  test("a first-schema database is backed up, then migrated in place, and its data served", async () => {
    const db = join(dir, "schema1.db");
    const old = new Database(db, { create: true });
    old.run(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT`);
    old.run(migrations[0]!.sql);
    old.run("INSERT INTO schema_migrations VALUES (1, '0001_init', 1700000000000)");
    old.run(`INSERT INTO results (uid, parent, name, create_time, update_time, etag) VALUES ('01900000-0000-7000-8000-000000000001', 'old', 'r1', 1700000000000000, 1700000000000000, '01900000-0000-7000-8000-000000000001-1700000000000000000')`);
    old.run(
      `INSERT INTO records (uid, result_rid, parent, result_name, name, create_time, update_time, etag, type, data) VALUES ('01900000-0000-7000-8000-000000000002', 1, 'old', 'r1', 'tr', 1700000000000000, 1700000000000000, 'e', 'tekton.dev/v1.TaskRun', jsonb(?))`,
      [JSON.stringify({ kind: "TaskRun", metadata: { name: "tr", labels: { app: "web" } }, status: { conditions: [{ reason: "Succeeded" }] } })],
    );
    old.close();

    const hp = await startHindsight({ cmd: [binary], cwd: dir, db });
    try {
      const saved = hp.logLines().find((l) => l.msg === "backed up the database before migrating its schema");
      expect(saved).toMatchObject({ from: 1 });
      const backups = readdirSync(join(dir, "backups")).filter((f) => f.startsWith("hindsight-schema1-"));
      expect(backups).toHaveLength(1);
      const b = new Database(join(dir, "backups", backups[0]!), { readonly: true });
      try {
        expect(b.query("SELECT max(version) AS v FROM schema_migrations").get()).toEqual({ v: 1 });
        expect(b.query("PRAGMA integrity_check").get()).toEqual({ integrity_check: "ok" });
      } finally {
        b.close();
      }
      const c = hp.client();
      expect((await c.getResult({ name: "old/results/r1" })).name).toBe("old/results/r1");
      // Filters over columns and side tables added by later migrations see the old row.
      const found = await c.listRecords({ parent: "old/results/-", filter: 'data.metadata.labels["app"] == "web" && data.status.conditions[0].reason == "Succeeded"' });
      expect(found.records.map((r) => r.name)).toEqual(["old/results/r1/records/tr"]);
      const v = await cli(["version", "--db", db]);
      expect(v.stdout).toContain(`database ${db}: schema version ${SCHEMA_VERSION}`);
    } finally {
      expect((await hp.stop()).code).toBe(0);
    }
    // Already current: no second backup.
    const hp2 = await startHindsight({ cmd: [binary], cwd: dir, db });
    expect((await hp2.stop()).code).toBe(0);
    expect(readdirSync(join(dir, "backups")).filter((f) => f.startsWith("hindsight-schema"))).toHaveLength(1);
  }, 120_000);
});

async function seedRuns(c: Client<typeof Results>) {
  const now = Date.now();
  const mk = async (parent: string, name: string, status: S, daysAgo: number) => {
    const end = now - daysAgo * DAY;
    await c.createResult({
      parent,
      result: {
        name: `${parent}/results/${name}`,
        summary: { record: `${parent}/results/${name}/records/${name}`, type: "tekton.dev/v1.PipelineRun", status, endTime: { seconds: BigInt(Math.floor(end / 1000)), nanos: 0 } },
      },
    });
    await c.createRecord({ parent: `${parent}/results/${name}`, record: { name: `${parent}/results/${name}/records/${name}`, data: { type: "tekton.dev/v1.PipelineRun", value: enc.encode('{"kind":"PipelineRun"}') } } });
  };
  await mk("ci", "old-ok", S.SUCCESS, 10);
  await mk("ci", "new-ok", S.SUCCESS, 2);
  await mk("ci", "old-failed", S.FAILURE, 10);
  await mk("prod", "ancient", S.FAILURE, 100);
  await mk("prod", "recent", S.FAILURE, 20);
}

const names = async (c: Client<typeof Results>) => (await c.listResults({ parent: "-" })).results.map((r) => r.name).sort();

describe("retention", () => {
  const policy = `retention:\n  maxAge: 30d\n  rules:\n    - { name: ci-green, namespaces: [ci], statuses: [success], maxAge: 7d }\n`;

  test("prune --dry-run lists exactly what would go and deletes nothing; prune deletes exactly that, records included", async () => {
    const db = join(dir, "prune.db");
    const cfg = join(dir, "prune.yaml");
    writeFileSync(cfg, policy);
    // The server runs without the policy; the CLI applies it beside it.
    const hp = await startHindsight({ cmd: [binary], cwd: dir, db });
    try {
      const c = hp.client();
      await seedRuns(c);
      const dry = await cli(["prune", "--dry-run", "--json", "--config", cfg, "--db", db]);
      expect(dry.code).toBe(0);
      const listed = JSON.parse(dry.stdout) as { dryRun: boolean; results: Array<{ name: string; rule: string; maxAge: string }>; deleted: number };
      expect(listed.dryRun).toBe(true);
      expect(listed.deleted).toBe(0);
      expect(listed.results.map((r) => [r.name, r.rule, r.maxAge])).toEqual([
        ["prod/results/ancient", "maxAge", "30d"],
        ["ci/results/old-ok", "ci-green", "7d"],
      ]);
      expect(await names(c)).toHaveLength(5);

      const text = await cli(["prune", "--dry-run", "--config", cfg, "--db", db]);
      expect(text.stdout).toContain("2 result(s) would be deleted (dry run)");

      const real = await cli(["prune", "--config", cfg, "--db", db]);
      expect(real.code).toBe(0);
      expect(real.stdout).toContain("deleted 2 result(s) and their records");
      expect(await names(c)).toEqual(["ci/results/new-ok", "ci/results/old-failed", "prod/results/recent"]);
      expect((await c.listRecords({ parent: "-/results/-" })).records.map((r) => r.name).sort()).toEqual([
        "ci/results/new-ok/records/new-ok",
        "ci/results/old-failed/records/old-failed",
        "prod/results/recent/records/recent",
      ]);
    } finally {
      expect((await hp.stop()).code).toBe(0);
    }
  }, 60_000);

  test("SIGHUP reloads the log format and the retention policy, which the server then applies on its own", async () => {
    const db = join(dir, "hup.db");
    const cfg = join(dir, "hup.yaml");
    writeFileSync(cfg, "log: { format: json }\n");
    const hp = await startHindsight({ cmd: [binary], cwd: dir, db, args: ["--config", cfg] });
    try {
      const c = hp.client();
      await seedRuns(c);
      writeFileSync(cfg, `log: { format: logfmt }\nreaders: 5\n${policy}`);
      hp.signal("SIGHUP");
      const deadline = Date.now() + 20_000;
      while ((await names(c)).length > 3 && Date.now() < deadline) await sleep(200);
      expect(await names(c)).toEqual(["ci/results/new-ok", "ci/results/old-failed", "prod/results/recent"]);
      // Still serving on its first address; the listener change waits for a restart, and says so.
      expect(hp.stderr).toMatch(/level=info msg="reloaded configuration" config=\S+hup\.yaml needRestart=readers\n/);
      expect(hp.stderr).toMatch(/msg="retention: deleted expired results" deleted=2/);
      const metrics = await (await fetch(`${hp.http}/metrics`)).text();
      expect(metrics).toContain("hindsight_retention_deleted_results_total 2");
      expect(metrics).toMatch(/hindsight_db_size_bytes [1-9]\d*/);
    } finally {
      expect((await hp.stop()).code).toBe(0);
    }
  }, 60_000);
});
