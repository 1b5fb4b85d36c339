import { describe, expect, test } from "bun:test";
import {
  Authorizer,
  bearerToken,
  globMatches,
  isKubeIdentity,
  isParentGlob,
  type Access,
  type KubeIdentity,
  type KubeUser,
  type ResourceAttributes,
  type RoleIdentity,
} from "./auth.ts";
import { AppError } from "./errors.ts";

// A fixed table of identities stands in for an authenticator (the interface is the seam).
const ids: Record<string, RoleIdentity> = {
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
  const read: Access = { action: "read", parent: "team-a", list: false, rbac: [{ resource: "results", verb: "get" }] };
  const write: Access = { action: "write", parent: "team-a", list: false, rbac: [{ resource: "results", verb: "update" }] };
  const del: Access = { action: "delete", parent: "team-a", list: false, rbac: [{ resource: "results", verb: "delete" }] };

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
    expect((await authz.authorize("Bearer s", { ...read, parent: "-", list: true })).scope).toEqual(["team-*", "ops"]);
    expect((await authz.authorize("Bearer a", { ...read, parent: "-", list: true })).scope).toBeNull();
  });
  test("without an authenticator (mode none) everything is allowed", async () => {
    const open = new Authorizer(null);
    expect(open.enabled).toBe(false);
    const who = (await open.authorize("", del)).identity;
    expect(!isKubeIdentity(who) && who.role).toBe("admin");
  });
});

describe("Authorizer with Kubernetes identities", () => {
  // The seams stand in for the cluster: a table of users and a rule over review attributes.
  const user = (username: string): KubeUser => ({ username, uid: `uid-${username}`, groups: ["system:authenticated"], extra: {} });
  const asked: Array<{ user: string } & ResourceAttributes> = [];
  const rules: Record<string, (a: ResourceAttributes) => boolean> = {
    reader: (a) => a.namespace === "team-a" && (a.verb === "get" || a.verb === "list"),
    admin: () => true,
    multi: (a) => a.namespace === "team-a" || a.namespace === "team-c",
    boss: (a) => a.verb === "impersonate" && a.name !== "root",
  };
  let parentsAsked = 0;
  const kauthz = new Authorizer(
    {
      authenticate(h, impersonate = []) {
        const name = bearerToken(h);
        if (!rules[name]) throw new AppError("unauthenticated", "invalid token");
        const as = impersonate.find(([k]) => k === "impersonate-user")?.[1];
        const id: KubeIdentity = {
          name,
          user: user(name),
          impersonation: as ? { as: user(as), checks: [{ namespace: "", group: "", resource: "users", verb: "impersonate", name: as }] } : null,
        };
        return id;
      },
    },
    {
      reviewer: {
        async allowed(u, a) {
          asked.push({ user: u.username, ...a });
          return rules[u.username]?.(a) ?? false;
        },
      },
      async parents() {
        parentsAsked++;
        return ["team-a", "team-b", "team-c", "not*a-name"];
      },
    },
  );
  const get = (parent: string): Access => ({ action: "read", parent, list: false, rbac: [{ resource: "records", verb: "get" }] });
  const list: Access = { action: "read", parent: "-", list: true, rbac: [{ resource: "records", verb: "list" }] };

  test("a call is the SubjectAccessReview of its RBAC check in its parent's namespace", async () => {
    asked.length = 0;
    expect(await code(kauthz.authorize("Bearer reader", get("team-a")))).toBe("ok");
    expect(await code(kauthz.authorize("Bearer reader", get("team-b")))).toBe("permission_denied");
    expect(await code(kauthz.authorize("Bearer reader", { ...get("team-a"), action: "delete", rbac: [{ resource: "records", verb: "delete" }] }))).toBe("permission_denied");
    expect(await code(kauthz.authorize("Bearer nobody", get("team-a")))).toBe("unauthenticated");
    expect(asked[0]).toEqual({ user: "reader", namespace: "team-a", group: "results.tekton.dev", resource: "records", verb: "get" });
    expect(asked.length).toBe(3);
  });
  test("every check of a call must be allowed (UpdateLog needs logs and records)", async () => {
    const both: Access = { action: "write", parent: "team-a", list: false, rbac: [{ resource: "logs", verb: "update" }, { resource: "records", verb: "update" }] };
    expect(await code(kauthz.authorize("Bearer multi", both))).toBe("ok");
    expect(await code(kauthz.authorize("Bearer reader", both))).toBe("permission_denied");
  });
  test("'-' lists: cluster-wide permission lists all; otherwise the stored parents allowed, by name", async () => {
    expect((await kauthz.authorize("Bearer admin", list)).scope).toBeNull();
    const before = parentsAsked;
    expect((await kauthz.authorize("Bearer multi", list)).scope).toEqual(["team-a", "team-c"]);
    expect((await kauthz.authorize("Bearer reader", list)).scope).toEqual(["team-a"]);
    expect(parentsAsked).toBe(before + 2);
    // No parent allowed: an empty scope (an empty list), not a refusal.
    expect((await kauthz.authorize("Bearer boss", list)).scope).toEqual([]);
    // A glob character never reaches a review as a namespace.
    expect(asked.some((a) => a.namespace.includes("*"))).toBe(false);
  });
  test("impersonation: each check is asked for the authenticated user, then the impersonated user acts", async () => {
    asked.length = 0;
    const imp = (as: string) => ({ authorization: "Bearer boss", impersonate: [["impersonate-user", as] as const] });
    expect(await code(kauthz.authorize(imp("reader"), get("team-a")))).toBe("ok");
    expect(asked.map((a) => `${a.user}:${a.verb}`)).toEqual(["boss:impersonate", "reader:get"]);
    expect(await code(kauthz.authorize(imp("reader"), get("team-b")))).toBe("permission_denied");
    asked.length = 0;
    expect(await code(kauthz.authorize(imp("root"), get("team-a")))).toBe("permission_denied");
    // Refused impersonation: no resource review at all.
    expect(asked.map((a) => a.verb)).toEqual(["impersonate"]);
  });
  test("a Kubernetes identity without a reviewer is an internal error, never an allow", async () => {
    const bare = new Authorizer({ authenticate: () => ({ name: "x", user: user("x"), impersonation: null }) });
    expect(await code(bare.authorize("Bearer x", get("team-a")))).toBe("internal");
  });
});
