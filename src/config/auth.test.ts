import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isLoopbackListen, parseAuthMode, resolveAuthMode } from "./auth.ts";
import { ConfigError, loadConfig } from "./config.ts";

describe("auth mode", () => {
  test("loopback addresses", () => {
    for (const a of ["127.0.0.1:50051", "127.1.2.3:1", "[::1]:8080", "localhost:8080"]) expect(isLoopbackListen(a)).toBe(true);
    for (const a of ["0.0.0.0:50051", "[::]:8080", "10.0.0.5:80", "example.com:80", "127.0.0.1.example.com:80"]) expect(isLoopbackListen(a)).toBe(false);
  });
  test("default: none on loopback, token when any listener is beyond it", () => {
    expect(resolveAuthMode(null, { "grpc-listen": "127.0.0.1:1", "http-listen": "[::1]:2" })).toBe("none");
    expect(resolveAuthMode(null, { "grpc-listen": "127.0.0.1:1", "http-listen": "0.0.0.0:2" })).toBe("token");
  });
  test("none beyond loopback is refused, naming the listener", () => {
    expect(() => resolveAuthMode("none", { "grpc-listen": "127.0.0.1:1", "http-listen": "0.0.0.0:8080" })).toThrow(/--http-listen 0\.0\.0\.0:8080/);
    expect(resolveAuthMode("token", { "grpc-listen": "127.0.0.1:1" })).toBe("token");
  });
  test("flag and env are parsed; a bad value names the setting", () => {
    expect(loadConfig({ "auth-mode": "token" }, {}).authMode).toBe("token");
    expect(loadConfig({}, { HINDSIGHT_AUTH_MODE: "none" }).authMode).toBe("none");
    expect(loadConfig({}, {}).authMode).toBeNull();
    expect(() => parseAuthMode("basic", "--auth-mode")).toThrow(ConfigError);
    expect(() => loadConfig({ "auth-mode": "basic" }, {})).toThrow(/--auth-mode: "basic" is not an auth mode/);
  });
});

describe("auth mode kubernetes settings", () => {
  test("defaults: no kubeconfig or context of its own, answers kept 10s, impersonation off", () => {
    const c = loadConfig({}, {});
    expect([c.authKubeconfig, c.authContext, c.authCacheTtlMs, c.authImpersonation]).toEqual([null, null, 10_000, false]);
  });
  test("flags and environment, each named in errors", () => {
    const c = loadConfig({ "auth-kubeconfig": "/k", "auth-context": "prod", "auth-cache-ttl": "30s", "auth-impersonation": "true" }, {});
    expect([c.authKubeconfig, c.authContext, c.authCacheTtlMs, c.authImpersonation]).toEqual(["/k", "prod", 30_000, true]);
    const e = loadConfig({}, { HINDSIGHT_AUTH_KUBECONFIG: "/e", HINDSIGHT_AUTH_CONTEXT: "dev", HINDSIGHT_AUTH_CACHE_TTL: "0", HINDSIGHT_AUTH_IMPERSONATION: "no" });
    expect([e.authKubeconfig, e.authContext, e.authCacheTtlMs, e.authImpersonation]).toEqual(["/e", "dev", 0, false]);
    expect(() => loadConfig({ "auth-cache-ttl": "soon" }, {})).toThrow(/--auth-cache-ttl: "soon" is not a duration/);
    expect(() => loadConfig({}, { HINDSIGHT_AUTH_IMPERSONATION: "maybe" })).toThrow(/HINDSIGHT_AUTH_IMPERSONATION: "maybe" is not true or false/);
  });
  test("the config file's auth keys; a wrong type names the key and what is allowed", () => {
    const dir = mkdtempSync(join(tmpdir(), "hindsight-auth-"));
    try {
      const f = join(dir, "c.yaml");
      writeFileSync(f, "auth: { mode: kubernetes, kubeconfig: /etc/k, context: prod, cacheTtl: 1m, impersonation: true }\n");
      const c = loadConfig({ config: f }, {});
      expect([c.authMode, c.authKubeconfig, c.authContext, c.authCacheTtlMs, c.authImpersonation]).toEqual(["kubernetes", "/etc/k", "prod", 60_000, true]);
      writeFileSync(f, "auth: { impersonation: sometimes }\n");
      expect(() => loadConfig({ config: f }, {})).toThrow(/auth\.impersonation: "sometimes" is not allowed: expected true or false/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
