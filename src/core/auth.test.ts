import { describe, expect, test } from "bun:test";
import { Authorizer, bearerToken, globMatches, isParentGlob, type Identity } from "./auth.ts";
import { AppError } from "./errors.ts";

// A fixed table of identities stands in for an authenticator (the interface is the seam).
const ids: Record<string, Identity> = {
  v: { name: "v", role: "viewer", parents: null },
  w: { name: "w", role: "writer", parents: null },
  a: { name: "a", role: "admin", parents: null },
  s: { name: "s", role: "admin", parents: ["team-*", "ops"] },
};
const authz = new Authorizer({
  authenticate(h) {
    const id = ids[bearerToken(h)];
    if (!id) throw new AppError("unauthenticated", "invalid or revoked token");
    return id;
  },
});

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "ok";
  } catch (e) {
    return (e as AppError).code;
  }
}

describe("bearerToken", () => {
  test("takes the token of 'Bearer TOKEN', any case of the scheme", () => {
    expect(bearerToken("Bearer abc")).toBe("abc");
    expect(bearerToken("bearer  abc ")).toBe("abc");
  });
  test("missing or malformed is unauthenticated, and the value is not echoed", () => {
    for (const h of ["", "Basic abc", "Bearer", "Bearer a b", "abc"]) {
      try {
        bearerToken(h);
        throw new Error("accepted " + h);
      } catch (e) {
        expect((e as AppError).code).toBe("unauthenticated");
        expect((e as AppError).message).not.toContain("abc");
      }
    }
  });
});

describe("globs", () => {
  test("* and ? match like SQLite GLOB within the parent alphabet", () => {
    expect(globMatches("team-*", "team-a")).toBe(true);
    expect(globMatches("team-*", "team-")).toBe(true);
    expect(globMatches("team-*", "xteam-a")).toBe(false);
    expect(globMatches("ns?", "ns1")).toBe(true);
    expect(globMatches("ns?", "ns12")).toBe(false);
    expect(globMatches("ops", "ops2")).toBe(false);
  });
  test("only the parent alphabet plus * and ? is a glob", () => {
    expect(isParentGlob("team-*")).toBe(true);
    for (const g of ["Team", "a/b", "[ab]", "", "a.b"]) expect(isParentGlob(g)).toBe(false);
  });
});

describe("Authorizer", () => {
  const read = { action: "read" as const, parent: "team-a", list: false };
  const write = { action: "write" as const, parent: "team-a", list: false };
  const del = { action: "delete" as const, parent: "team-a", list: false };

  test("credentials first: no/bad/unknown token is unauthenticated whatever the action", async () => {
    for (const h of ["", "Basic x", "Bearer nobody"]) expect(await code(authz.authorize(h, del))).toBe("unauthenticated");
  });
  test("roles: viewer reads, writer also writes, admin also deletes", async () => {
    const table = { v: ["ok", "permission_denied", "permission_denied"], w: ["ok", "ok", "permission_denied"], a: ["ok", "ok", "ok"] };
    for (const [who, want] of Object.entries(table)) {
      const got = [await code(authz.authorize(`Bearer ${who}`, read)), await code(authz.authorize(`Bearer ${who}`, write)), await code(authz.authorize(`Bearer ${who}`, del))];
      expect(got).toEqual(want);
    }
  });
  test("a scoped identity is denied other parents, and '-' lists get its globs as scope", async () => {
    expect(await code(authz.authorize("Bearer s", { ...read, parent: "team-b" }))).toBe("ok");
    expect(await code(authz.authorize("Bearer s", { ...read, parent: "ops" }))).toBe("ok");
    expect(await code(authz.authorize("Bearer s", { ...read, parent: "other" }))).toBe("permission_denied");
    // "-" outside a list is just a name: denied for a scoped caller.
    expect(await code(authz.authorize("Bearer s", { ...read, parent: "-" }))).toBe("permission_denied");
    expect((await authz.authorize("Bearer s", { action: "read", parent: "-", list: true })).scope).toEqual(["team-*", "ops"]);
    expect((await authz.authorize("Bearer a", { action: "read", parent: "-", list: true })).scope).toBeNull();
  });
  test("without an authenticator (mode none) everything is allowed", async () => {
    const open = new Authorizer(null);
    expect(open.enabled).toBe(false);
    expect((await open.authorize("", del)).identity.role).toBe("admin");
  });
});
