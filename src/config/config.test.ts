import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, defaultConfig, loadConfig as load, parseListen, parseSize } from "./config.ts";

/** Never reads the machine's /etc/hindsight/config.yaml. */
const loadConfig = (flags: Parameters<typeof load>[0], env: Parameters<typeof load>[1], opts: Parameters<typeof load>[2] = { defaultPath: null }) => load(flags, env, opts);

test("defaults need no configuration", () => {
  expect(loadConfig({}, {})).toEqual(defaultConfig);
  expect(defaultConfig.grpcListen).toBe("127.0.0.1:50051");
  expect(defaultConfig.db).toBe("./data/hindsight.db");
  expect(defaultConfig.httpListen).toBe("127.0.0.1:8080");
  expect(defaultConfig.httpMaxBodyBytes).toBe(32 * 1024 * 1024);
});

test("flags override environment, which overrides defaults", () => {
  const env = { HINDSIGHT_DB: "/env.db", HINDSIGHT_GRPC_LISTEN: "127.0.0.1:1", HINDSIGHT_GRPC_MAX_RECEIVE_SIZE: "8MiB" };
  expect(loadConfig({}, env)).toEqual({ ...defaultConfig, db: "/env.db", grpcListen: "127.0.0.1:1", grpcMaxReceiveBytes: 8 * 1024 * 1024 });
  expect(loadConfig({ db: "/flag.db", "grpc-listen": "[::1]:2" }, env)).toMatchObject({ db: "/flag.db", grpcListen: "[::1]:2" });
});

test("bad values name the setting and say what is allowed", () => {
  expect(() => loadConfig({ "grpc-listen": "nonsense" }, {})).toThrow(/--grpc-listen: "nonsense" is not HOST:PORT/);
  expect(() => loadConfig({}, { HINDSIGHT_GRPC_LISTEN: "1.2.3.4:99999" })).toThrow(/HINDSIGHT_GRPC_LISTEN/);
  expect(() => loadConfig({ "grpc-max-receive-size": "lots" }, {})).toThrow(ConfigError);
  expect(() => loadConfig({ db: "" }, {})).toThrow(/--db: must not be empty/);
  expect(() => loadConfig({ readers: "0" }, {})).toThrow(/--readers: "0" is not a whole number from 1 to 64/);
  expect(() => loadConfig({}, { HINDSIGHT_QUERY_TIMEOUT: "soon" })).toThrow(/HINDSIGHT_QUERY_TIMEOUT: "soon" is not a duration/);
  expect(() => loadConfig({ "query-timeout": "5ms" }, {})).toThrow(/from 100ms to 24h/);
  expect(() => loadConfig({ "http-listen": "8080" }, {})).toThrow(/--http-listen: "8080" is not HOST:PORT/);
  expect(() => loadConfig({}, { HINDSIGHT_HTTP_MAX_BODY_SIZE: "huge" })).toThrow(/HINDSIGHT_HTTP_MAX_BODY_SIZE/);
});

test("reader threads and the query timeout", () => {
  expect(loadConfig({ readers: "2", "query-timeout": "2m" }, {})).toMatchObject({ readers: 2, queryTimeoutMs: 120_000 });
  expect(loadConfig({}, { HINDSIGHT_READERS: "8", HINDSIGHT_QUERY_TIMEOUT: "1500ms" })).toMatchObject({ readers: 8, queryTimeoutMs: 1500 });
  expect(loadConfig({ "query-timeout": "90" }, {}).queryTimeoutMs).toBe(90_000);
});

test("the REST listener and body limit come from flags or environment", () => {
  const env = { HINDSIGHT_HTTP_LISTEN: "0.0.0.0:9000", HINDSIGHT_HTTP_MAX_BODY_SIZE: "1MiB" };
  expect(loadConfig({}, env)).toMatchObject({ httpListen: "0.0.0.0:9000", httpMaxBodyBytes: 1048576 });
  expect(loadConfig({ "http-listen": "[::1]:8081", "http-max-body-size": "64KiB" }, env)).toMatchObject({ httpListen: "[::1]:8081", httpMaxBodyBytes: 65536 });
});

test("sizes and addresses", () => {
  expect(parseSize("32MiB", "x")).toBe(33554432);
  expect(parseSize("4194304", "x")).toBe(4194304);
  expect(parseSize("1.5 KiB", "x")).toBe(1536);
  expect(() => parseSize("10", "x")).toThrow(/out of range/);
  expect(() => parseSize("3TB", "x")).toThrow(ConfigError);
  expect(parseListen("0.0.0.0:50051", "x")).toBe("0.0.0.0:50051");
  expect(parseListen("localhost:0", "x")).toBe("localhost:0");
  expect(() => parseListen(":50051", "x")).toThrow(ConfigError);
});

test("clusters to watch: --kubeconfig, repeatable --context (comma-separated in the environment), --watch-config", () => {
  expect(loadConfig({ kubeconfig: "/k", context: ["a", "b"] }, {})).toMatchObject({ kubeconfig: "/k", contexts: ["a", "b"] });
  expect(loadConfig({}, { HINDSIGHT_CONTEXTS: "a, b", HINDSIGHT_WATCH_CONFIG: "/w.yaml" })).toMatchObject({ contexts: ["a", "b"], watchConfig: "/w.yaml" });
  expect(loadConfig({ context: ["c"] }, { HINDSIGHT_CONTEXTS: "a,b" }).contexts).toEqual(["c"]);
  expect(() => loadConfig({ context: [" "] }, {})).toThrow(/--context: a context name must not be empty/);
  expect(loadConfig({}, {})).toMatchObject({ kubeconfig: null, contexts: [], watchConfig: null });
});

test("the record cache size: a size, or 0 for none", () => {
  expect(defaultConfig.recordCacheBytes).toBe(6 * 1024 * 1024);
  expect(loadConfig({ "record-cache-size": "64MiB" }, {}).recordCacheBytes).toBe(64 * 1024 * 1024);
  expect(loadConfig({}, { HINDSIGHT_RECORD_CACHE_SIZE: "0" }).recordCacheBytes).toBe(0);
  expect(loadConfig({ "record-cache-size": "0MiB" }, {}).recordCacheBytes).toBe(0);
  expect(() => loadConfig({ "record-cache-size": "0xyz" }, {})).toThrow(/--record-cache-size/);
  expect(() => loadConfig({ "record-cache-size": "12" }, {})).toThrow(/out of range/);
});

describe("the config file", () => {
  let dir = "";
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), "hindsight-config-"))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };

  test("lowerCamelCase keys fill the typed config; flags beat environment, which beats the file", () => {
    const f = file(
      "full.yaml",
      `db: /srv/h.db
readers: 5
queryTimeout: 2m
grpc: { listen: "0.0.0.0:50051", maxReceiveSize: 8MiB }
http:
  listen: "[::1]:8081"
  maxBodySize: 1048576
log: { level: warn, format: logfmt }
contexts: [a, b]
retention:
  maxAge: 90d
  interval: 30m
  rules:
    - { name: prs, namespaces: [ci], statuses: [success, cancelled], maxAge: 7d }
    - { filter: 'annotations["repo"] == "x"', maxAge: forever }
backup: { dir: /srv/backups, beforeMigration: false }
`,
    );
    const cfg = loadConfig({ config: f }, {});
    expect(cfg).toMatchObject({
      configFile: f,
      db: "/srv/h.db",
      readers: 5,
      queryTimeoutMs: 120_000,
      grpcListen: "0.0.0.0:50051",
      grpcMaxReceiveBytes: 8 * 1024 * 1024,
      httpListen: "[::1]:8081",
      httpMaxBodyBytes: 1048576,
      logLevel: "warn",
      logFormat: "logfmt",
      contexts: ["a", "b"],
      retentionMaxAgeMs: 90 * 86_400_000,
      retentionIntervalMs: 30 * 60_000,
      backupDir: "/srv/backups",
      backupBeforeMigration: false,
    });
    expect(cfg.retentionRules).toEqual([
      { name: "prs", namespaces: ["ci"], pipelines: [], statuses: ["success", "cancelled"], filter: null, maxAgeMs: 7 * 86_400_000 },
      { name: "rules[1]", namespaces: [], pipelines: [], statuses: [], filter: 'annotations["repo"] == "x"', maxAgeMs: null },
    ]);
    expect(loadConfig({ config: f }, { HINDSIGHT_DB: "/env.db", HINDSIGHT_READERS: "7" })).toMatchObject({ db: "/env.db", readers: 7, logLevel: "warn" });
    expect(loadConfig({ config: f, db: "/flag.db" }, { HINDSIGHT_DB: "/env.db" }).db).toBe("/flag.db");
    // HINDSIGHT_CONFIG names the file too; --config wins over it.
    expect(loadConfig({}, { HINDSIGHT_CONFIG: f }).db).toBe("/srv/h.db");
    expect(() => loadConfig({ config: f }, { HINDSIGHT_CONFIG: join(dir, "missing.yaml") })).not.toThrow();
  });

  test("the default path is read only when it exists", () => {
    const f = file("default.yaml", "db: /from-default.db\n");
    expect(loadConfig({}, {}, { defaultPath: f }).db).toBe("/from-default.db");
    expect(loadConfig({}, {}, { defaultPath: join(dir, "absent.yaml") })).toEqual(defaultConfig);
    expect(() => loadConfig({ config: join(dir, "absent.yaml") }, {})).toThrow(/config file .*absent.yaml: cannot read it \(no such file\)/);
  });

  test("a bad file names the key, the value and what is allowed", () => {
    const bad = (text: string) => () => loadConfig({ config: file("bad.yaml", text) }, {});
    expect(bad("grpc:\n  listen: nonsense\n")).toThrow(/bad.yaml: grpc.listen: "nonsense" is not HOST:PORT \(examples/);
    expect(bad("grpc:\n  lisen: 1.2.3.4:5\n")).toThrow(/grpc.lisen: unknown key \(known keys here: listen, maxReceiveSize, idleTimeout, readTimeout\)/);
    expect(bad("dbb: x\n")).toThrow(/dbb: unknown key \(known keys here: db, readers/);
    expect(bad("readers: 0\n")).toThrow(/readers: 0 is not allowed: expected a whole number from 1 to 64/);
    expect(bad("log: { format: xml }\n")).toThrow(/log.format: "xml" is not allowed: expected json or logfmt/);
    expect(bad("retention: { maxAge: soon }\n")).toThrow(/retention.maxAge: "soon" is not an age \(examples: 90d/);
    expect(bad("retention: { rules: [ { statuses: [ok], maxAge: 1d } ] }\n")).toThrow(/retention.rules\[0\].statuses\[0\]: "ok" is not allowed: expected success, failure, timeout, cancelled, unknown/);
    expect(bad("retention: { rules: [ { namespaces: [ci] } ] }\n")).toThrow(/retention.rules\[0\].maxAge: missing/);
    expect(bad("retention: { rules: [ { maxAge: 1d }, { namespaces: [a], maxAge: 2d } ] }\n")).toThrow(/rules\[0\]: matches every run/);
    expect(bad("grpc: 5\n")).toThrow(/grpc: 5 is not allowed/);
    expect(bad("- a\n")).toThrow(/must be a mapping/);
    expect(bad("db: [unclosed\n")).toThrow(/not valid YAML/);
    // Every problem at once, one per line.
    expect(bad("readers: x\nqueryTimeout: []\n")).toThrow(/readers: "x" is not allowed.*\n.*queryTimeout: \[\] is not allowed/);
  });

  test("a key with no value keeps its default", () => {
    expect(loadConfig({ config: file("nulls.yaml", "kubeconfig:\nbackup:\n  dir:\n") }, {})).toMatchObject({ kubeconfig: null, backupDir: null });
  });
});

test("new settings from flags and environment: log, retention, backups", () => {
  expect(loadConfig({ "log-format": "logfmt", "retention-max-age": "30" }, { HINDSIGHT_LOG_LEVEL: "debug", HINDSIGHT_BACKUP_BEFORE_MIGRATION: "false" })).toMatchObject({
    logFormat: "logfmt",
    logLevel: "debug",
    retentionMaxAgeMs: 30 * 86_400_000,
    backupBeforeMigration: false,
  });
  expect(() => loadConfig({}, { HINDSIGHT_LOG_LEVEL: "loud" })).toThrow(/HINDSIGHT_LOG_LEVEL: "loud" is not one of debug, info, warn, error/);
  expect(() => loadConfig({ "retention-interval": "forever" }, {})).toThrow(/--retention-interval: "forever" is not an interval/);
  expect(() => loadConfig({ "retention-max-age": "10s" }, {})).toThrow(/shorter than a minute/);
});
