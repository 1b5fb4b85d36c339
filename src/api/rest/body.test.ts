import { expect, test } from "bun:test";
import { AppError } from "../../core/errors.ts";
import { jsonDepth, MAX_JSON_DEPTH, readJsonBody } from "./body.ts";

const req = (body: string | Uint8Array | null, headers: Record<string, string> = { "content-type": "application/json" }) =>
  new Request("http://localhost/x", { method: "POST", body, headers });

async function failure(p: Promise<unknown>): Promise<{ code: string; status?: number; message: string }> {
  try {
    await p;
  } catch (e) {
    if (e instanceof AppError) return { code: e.code, status: e.httpStatus, message: e.message };
    throw e;
  }
  throw new Error("expected a failure");
}

test("a JSON object is returned; an empty body is undefined", async () => {
  expect(await readJsonBody(req('{"name":"a"}'), 1024)).toEqual({ name: "a" });
  expect(await readJsonBody(req(""), 1024)).toBeUndefined();
  expect(await readJsonBody(req("  \n"), 1024)).toBeUndefined();
  expect(await readJsonBody(req("{}", { "content-type": "application/json; charset=UTF-8" }), 1024)).toEqual({});
  // curl's default for -d, and no type at all, are read as JSON (upstream reads every type as JSON).
  expect(await readJsonBody(req("{}", { "content-type": "application/x-www-form-urlencoded" }), 1024)).toEqual({});
  expect(await readJsonBody(req("{}", {}), 1024)).toEqual({});
});

test("over the limit: 413 with RESOURCE_EXHAUSTED, by Content-Length or while reading a stream", async () => {
  expect(await failure(readJsonBody(req("x".repeat(2000)), 1024))).toMatchObject({ code: "resource_exhausted", status: 413 });
  const stream = new ReadableStream({
    pull(c) {
      c.enqueue(new Uint8Array(600).fill(32));
    },
  });
  expect(await failure(readJsonBody(new Request("http://localhost/x", { method: "POST", body: stream, headers: { "content-type": "application/json" } }), 1024))).toMatchObject({ status: 413 });
});

test("wrong content type is 415; bad UTF-8, bad JSON, non-objects and deep nesting are INVALID_ARGUMENT", async () => {
  expect(await failure(readJsonBody(req("{}", { "content-type": "application/xml" }), 1024))).toMatchObject({ code: "invalid_argument", status: 415 });
  expect(await failure(readJsonBody(req("{}", { "content-type": "multipart/form-data; boundary=x" }), 1024))).toMatchObject({ status: 415 });
  expect(await failure(readJsonBody(req("{}", { "content-type": "application/json; charset=latin1" }), 1024))).toMatchObject({ status: 415 });
  expect(await failure(readJsonBody(req(new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x7d])), 1024))).toMatchObject({ code: "invalid_argument", message: expect.stringContaining("UTF-8") });
  expect(await failure(readJsonBody(req("{bad"), 1024))).toMatchObject({ message: expect.stringContaining("not valid JSON") });
  expect(await failure(readJsonBody(req("[1]"), 1024))).toMatchObject({ message: expect.stringContaining("an array") });
  expect(await failure(readJsonBody(req("null"), 1024))).toMatchObject({ message: expect.stringContaining("null") });
  const deep = '{"a":'.repeat(100) + "1" + "}".repeat(100);
  expect(await failure(readJsonBody(req(deep), 1 << 20))).toMatchObject({ message: expect.stringContaining("deeper") });
});

test("depth counts brackets outside strings only", () => {
  expect(jsonDepth('{"a":[{"b":"[[[[{{{{"}]}', MAX_JSON_DEPTH)).toBe(3);
  expect(jsonDepth('{"a":"\\"[[["}', MAX_JSON_DEPTH)).toBe(1);
  expect(jsonDepth("[".repeat(1000), 10)).toBe(11);
});
