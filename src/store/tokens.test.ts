import { describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { createHash } from "node:crypto";
import { AppError } from "../core/errors.ts";
import { migrate } from "./migrations.ts";
import { parseParentGlobs, TOKEN_PREFIX, TokenStore } from "./tokens.ts";

function open(now = () => 1_700_000_000_000) {
  const db = new Database(":memory:", { strict: true });
  migrate(db);
  return { db, tokens: new TokenStore(db, now) };
}

const codeOf = (f: () => unknown) => {
  try {
    f();
    return "ok";
  } catch (e) {
    return (e as AppError).code;
  }
};

describe("TokenStore", () => {
  test("create returns a fresh secret; only its SHA-256 is stored", () => {
    const { db, tokens } = open();
    const s = tokens.create("ci", "writer", ["team-*"]);
    expect(s.startsWith(TOKEN_PREFIX)).toBe(true);
    expect(s.length).toBeGreaterThan(40);
    const row = db.query<{ hash: Uint8Array; parents: string }, []>("SELECT hash, parents FROM api_tokens").get()!;
    expect(Buffer.from(row.hash).equals(createHash("sha256").update(s).digest())).toBe(true);
    const dump = JSON.stringify(db.query("SELECT * FROM api_tokens").all());
    expect(dump).not.toContain(s.slice(TOKEN_PREFIX.length, TOKEN_PREFIX.length + 20));
    expect(tokens.authenticate(`Bearer ${s}`)).toEqual({ name: "ci", role: "writer", parents: ["team-*"] });
    expect(tokens.create("other", "viewer", null)).not.toBe(s);
  });
  test("unknown, malformed and revoked tokens are unauthenticated; revocation is immediate in-process", () => {
    const { tokens } = open();
    const s = tokens.create("ci", "admin", null);
    expect(codeOf(() => tokens.authenticate(`Bearer ${s}x`))).toBe("unauthenticated");
    expect(codeOf(() => tokens.authenticate(s))).toBe("unauthenticated");
    expect(codeOf(() => tokens.authenticate(`Bearer ${s}`))).toBe("ok");
    tokens.revoke("ci");
    expect(codeOf(() => tokens.authenticate(`Bearer ${s}`))).toBe("unauthenticated");
    expect(tokens.list()[0]!.revokedAt).not.toBeNull();
  });
  test("a revocation by another connection (the CLI) takes effect once the cache entry expires", () => {
    let t = 1_000_000;
    const { db, tokens } = open(() => t);
    const s = tokens.create("ci", "admin", null);
    expect(codeOf(() => tokens.authenticate(`Bearer ${s}`))).toBe("ok");
    db.run("UPDATE api_tokens SET revoked_at = 1 WHERE name = 'ci'");
    expect(codeOf(() => tokens.authenticate(`Bearer ${s}`))).toBe("ok");
    t += 1001;
    expect(codeOf(() => tokens.authenticate(`Bearer ${s}`))).toBe("unauthenticated");
  });
  test("bad names, roles, duplicates and revoking the unknown get clear codes", () => {
    const { tokens } = open();
    tokens.create("ci", "viewer", null);
    expect(codeOf(() => tokens.create("ci", "viewer", null))).toBe("already_exists");
    expect(codeOf(() => tokens.create("bad name", "viewer", null))).toBe("invalid_argument");
    expect(codeOf(() => tokens.create("x", "root" as never, null))).toBe("invalid_argument");
    expect(codeOf(() => tokens.revoke("nope"))).toBe("not_found");
    tokens.revoke("ci");
    expect(codeOf(() => tokens.revoke("ci"))).toBe("invalid_argument");
  });
  test("parent globs are checked", () => {
    expect(parseParentGlobs("team-*, ops")).toEqual(["team-*", "ops"]);
    expect(codeOf(() => parseParentGlobs("Team"))).toBe("invalid_argument");
    expect(codeOf(() => parseParentGlobs(","))).toBe("invalid_argument");
    expect(codeOf(() => parseParentGlobs("[a]"))).toBe("invalid_argument");
  });
});
