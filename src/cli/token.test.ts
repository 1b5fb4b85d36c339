import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Database } from "bun:sqlite";
import { TokenStore } from "../store/tokens.ts";
import { tokenCommand } from "./token.ts";

const dir = mkdtempSync(join(tmpdir(), "hindsight-token-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const db = join(dir, "h.db");

function run(...args: string[]) {
  let out = "";
  let err = "";
  const code = tokenCommand(args, db, { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

test("create prints the secret once, alone on the last line; list shows no secret; revoke ends it", () => {
  const c = run("create", "--name", "ci", "--role", "writer", "--parents", "team-*,ops");
  expect(c.code).toBe(0);
  const secret = c.out.trimEnd().split("\n").at(-1)!;
  expect(secret).toMatch(/^hst_[A-Za-z0-9_-]{43}$/);
  const l = run("list");
  expect(l.out).toContain("ci\twriter\tteam-*,ops\t");
  expect(l.out).not.toContain(secret);
  // The server side (another connection to the same file) accepts it.
  const conn = new Database(db, { strict: true });
  expect(new TokenStore(conn).authenticate(`Bearer ${secret}`).name).toBe("ci");
  expect(run("revoke", "ci").code).toBe(0);
  expect(() => new TokenStore(conn).authenticate(`Bearer ${secret}`)).toThrow(/invalid or revoked/);
  conn.close();
  expect(JSON.parse(run("list", "--json").out).tokens[0].revokedAt).not.toBeNull();
});

test("bad input is a clear error with a non-zero exit, no stack trace", () => {
  expect(run("create", "--name", "x").err).toContain("--name and --role are required");
  const bad = run("create", "--name", "x", "--role", "root");
  expect(bad.code).toBe(2);
  expect(bad.err).toContain('role "root": must be one of viewer, writer, admin');
  expect(run("create", "--name", "y", "--role", "viewer", "--parents", "A/B").err).toContain("is not a parent glob");
  expect(run("revoke", "nobody")).toMatchObject({ code: 1 });
  expect(run("create", "--name", "dup", "--role", "admin").code).toBe(0);
  expect(run("create", "--name", "dup", "--role", "admin")).toMatchObject({ code: 1 });
  expect(run("frobnicate").code).toBe(2);
  expect(run().code).toBe(2);
});
