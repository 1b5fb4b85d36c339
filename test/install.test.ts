/**
 * scripts/install.sh and systemd/hindsight.service: installed into
 * temporary directories (no systemctl), the unit checked by
 * `systemd-analyze verify` where that tool exists, and `hindsight ready`,
 * the unit's start-up health check, against a real server.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../scripts/build.ts";
import { binaryIn } from "./support/binary.ts";
import { freePort, killAllProcesses, removeDir, runCli, startHindsight, tempDir } from "./support/process.ts";

let dir = "";
let binary = "";
const analyze = Bun.which("systemd-analyze");

beforeAll(async () => {
  dir = tempDir("hindsight-install-");
  binary = await binaryIn(dir);
}, 300_000);
afterEach(() => killAllProcesses());
afterAll(() => dir && removeDir(dir));

function install(env: Record<string, string>, args: string[] = [binary]) {
  const r = Bun.spawnSync(["bash", join(ROOT, "scripts/install.sh"), ...args], { env: { ...process.env, ENABLE: "0", ...env }, stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

describe("install.sh", () => {
  const paths = () => ({ BINDIR: join(dir, "bin"), UNITDIR: join(dir, "units"), CONFDIR: join(dir, "etc") });

  test("installs the binary, the unit pointing at it and a valid config; a second run keeps the config", async () => {
    const p = paths();
    const r = install(p);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    expect(statSync(join(p.BINDIR, "hindsight")).mode & 0o111).not.toBe(0);
    const unit = readFileSync(join(p.UNITDIR, "hindsight.service"), "utf8");
    expect(unit).toContain(`ExecStart=${p.BINDIR}/hindsight serve`);
    expect(unit).toContain(`ExecStartPost=${p.BINDIR}/hindsight ready --timeout 30s`);
    for (const line of ["DynamicUser=yes", "StateDirectory=hindsight", "ProtectSystem=strict", "NoNewPrivileges=yes", "Restart=on-failure", "ProtectHome=yes", "PrivateTmp=yes", "CapabilityBoundingSet=", "Environment=BUN_JSC_forceRAMSize=1073741824", "Environment=MIMALLOC_PURGE_DELAY=1000"]) {
      expect(unit).toContain(`\n${line}\n`);
    }
    const config = join(p.CONFDIR, "config.yaml");
    expect(readFileSync(config, "utf8")).toContain("\ndb: /var/lib/hindsight/hindsight.db\n");
    const check = await runCli(["config", "check", "--config", config], { cmd: [join(p.BINDIR, "hindsight")], cwd: dir });
    expect(check.code).toBe(0);
    expect(check.stdout).toContain("db /var/lib/hindsight/hindsight.db");

    writeFileSync(config, "readers: 2\n");
    const again = install(p);
    expect(again.code).toBe(0);
    expect(readFileSync(config, "utf8")).toBe("readers: 2\n");
    expect(existsSync(join(p.CONFDIR, "config.yaml.example"))).toBe(true);
    expect(again.stdout).toContain(`kept ${config}`);
  }, 60_000);

  test("a missing binary is reported, nothing installed", () => {
    const r = install({ BINDIR: join(dir, "bin2"), UNITDIR: join(dir, "units2"), CONFDIR: join(dir, "etc2") }, [join(dir, "nope")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("no executable at");
    expect(existsSync(join(dir, "bin2"))).toBe(false);
  });

  test.skipIf(!analyze)(`systemd-analyze verify passes on the installed unit${analyze ? "" : " (skipped: systemd-analyze is not installed; apt-get install systemd)"}`, () => {
    const p = paths();
    if (!existsSync(join(p.UNITDIR, "hindsight.service"))) expect(install(p).code).toBe(0);
    const r = Bun.spawnSync([analyze!, "verify", join(p.UNITDIR, "hindsight.service")], { stdout: "pipe", stderr: "pipe" });
    expect({ code: r.exitCode, out: r.stdout.toString() + r.stderr.toString() }).toEqual({ code: 0, out: "" });
  }, 60_000);
});

describe("hindsight ready", () => {
  test("exits 0 once /readyz answers on the configured REST address, 1 when nothing answers in time", async () => {
    const port = await freePort();
    const hp = await startHindsight({ cmd: [binary], cwd: dir, db: join(dir, "ready.db"), args: ["--http-listen", `0.0.0.0:${port}`] });
    try {
      const ok = await runCli(["ready", "--timeout", "10s"], { cmd: [binary], cwd: dir, env: { HINDSIGHT_HTTP_LISTEN: `0.0.0.0:${port}` } });
      expect({ code: ok.code, stdout: ok.stdout }).toEqual({ code: 0, stdout: `ready: http://127.0.0.1:${port}/readyz\n` });
    } finally {
      expect((await hp.stop()).code).toBe(0);
    }
    const down = await runCli(["ready", "--timeout", "1s"], { cmd: [binary], cwd: dir, env: { HINDSIGHT_HTTP_LISTEN: `127.0.0.1:${port}` } });
    expect(down.code).toBe(1);
    expect(down.stderr).toContain(`http://127.0.0.1:${port}/readyz not ready after 1s`);
  }, 60_000);
});
