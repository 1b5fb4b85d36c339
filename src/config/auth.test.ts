import { describe, expect, test } from "bun:test";
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
