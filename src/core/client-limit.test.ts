import { expect, test } from "bun:test";
import { AppError } from "./errors.ts";
import { ClientLimiter, clientHost } from "./client-limit.ts";

test("each client has its own count; past the cap is resource_exhausted; release frees a slot once", () => {
  const l = new ClientLimiter(2);
  const a1 = l.acquire("a");
  l.acquire("a");
  try {
    l.acquire("a");
    throw new Error("accepted a third call");
  } catch (e) {
    expect((e as AppError).code).toBe("resource_exhausted");
  }
  // Another client is unaffected.
  expect(() => l.acquire("b")).not.toThrow();
  a1();
  a1();
  expect(l.count("a")).toBe(1);
  expect(() => l.acquire("a")).not.toThrow();
  expect(() => l.acquire("a")).toThrow();
});

test("0 means no cap", () => {
  const l = new ClientLimiter(0);
  for (let i = 0; i < 100; i++) l.acquire("a");
  expect(l.count("a")).toBe(0);
});

test("client hosts from gRPC peers and socket addresses", () => {
  expect(clientHost("ipv4:127.0.0.1:5000")).toBe("127.0.0.1");
  expect(clientHost("ipv6:[::1]:5000")).toBe("::1");
  expect(clientHost("::ffff:127.0.0.1")).toBe("::ffff:127.0.0.1");
  expect(clientHost("10.0.0.1")).toBe("10.0.0.1");
});
