import { expect, test } from "bun:test";
import { ConfigError, defaultConfig, loadConfig, parseListen, parseSize } from "./config.ts";

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
  expect(defaultConfig.recordCacheBytes).toBe(16 * 1024 * 1024);
  expect(loadConfig({ "record-cache-size": "64MiB" }, {}).recordCacheBytes).toBe(64 * 1024 * 1024);
  expect(loadConfig({}, { HINDSIGHT_RECORD_CACHE_SIZE: "0" }).recordCacheBytes).toBe(0);
  expect(loadConfig({ "record-cache-size": "0MiB" }, {}).recordCacheBytes).toBe(0);
  expect(() => loadConfig({ "record-cache-size": "0xyz" }, {})).toThrow(/--record-cache-size/);
  expect(() => loadConfig({ "record-cache-size": "12" }, {})).toThrow(/out of range/);
});
