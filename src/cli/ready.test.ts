import { expect, test } from "bun:test";
import { readyUrl } from "./ready.ts";

test("a wildcard listen address is dialled on this machine", () => {
  expect(readyUrl("127.0.0.1:8080")).toBe("http://127.0.0.1:8080/readyz");
  expect(readyUrl("0.0.0.0:8080")).toBe("http://127.0.0.1:8080/readyz");
  expect(readyUrl("[::]:8080")).toBe("http://[::1]:8080/readyz");
  expect(readyUrl("[::1]:9")).toBe("http://[::1]:9/readyz");
  expect(readyUrl("example.internal:80")).toBe("http://example.internal:80/readyz");
});
