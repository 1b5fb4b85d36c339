import { expect, test } from "bun:test";
import type { KubeUser } from "../core/auth.ts";
import type { AppError } from "../core/errors.ts";
import { KubeAuthenticator, NEGATIVE_TTL_MS } from "./authenticator.ts";
import { ACCESS_REVIEWS, TOKEN_REVIEWS, type ReviewClient } from "./reviews.ts";

// The Kubernetes API server's side of the two reviews, as a table: what the
// authenticator sends is recorded, so the wire format is checked too.
/** The request bodies, as far as the table reads them. */
type Sent = { spec: { token?: string; resourceAttributes?: { namespace?: string } } };

function apiServer() {
  const sent: Array<{ path: string; body: unknown }> = [];
  let down = false;
  const client: ReviewClient = {
    async postJson(path, raw) {
      sent.push({ path, body: raw });
      const body = raw as Sent;
      if (down) throw new Error("connect ECONNREFUSED 10.0.0.1:6443");
      if (path === TOKEN_REVIEWS) {
        return body.spec.token === "good"
          ? { status: { authenticated: true, user: { username: "alice", uid: "u1", groups: ["g"], extra: { scopes: ["s"] } } } }
          : { status: { authenticated: false, error: "invalid" } };
      }
      if (path === ACCESS_REVIEWS) return { status: { allowed: body.spec.resourceAttributes?.namespace === "ns-a" } };
      throw new Error(`unexpected ${path}`);
    },
  };
  return { client, sent, setDown: (d: boolean) => (down = d) };
}

const codeOf = async (p: Promise<unknown>) =>
  p.then(
    () => "ok",
    (e: AppError) => e.code,
  );

function setup(opts: { ttl?: number; impersonation?: boolean } = {}) {
  const api = apiServer();
  let t = 0;
  const authn = new KubeAuthenticator({ client: api.client, cacheTtlMs: opts.ttl ?? 10_000, impersonation: opts.impersonation ?? false, now: () => t });
  return { api, authn, advance: (ms: number) => (t += ms) };
}

test("TokenReview: the bearer token is sent as spec.token; the answer's user becomes the identity", async () => {
  const { api, authn } = setup();
  const id = await authn.authenticate("Bearer good");
  expect(id).toEqual({ name: "alice", user: { username: "alice", uid: "u1", groups: ["g"], extra: { scopes: ["s"] } }, impersonation: null });
  expect(api.sent).toEqual([{ path: TOKEN_REVIEWS, body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenReview", spec: { token: "good" } } }]);
});

test("missing, malformed and unauthenticated tokens are unauthenticated; the token is never in the message", async () => {
  const { api, authn } = setup();
  for (const h of ["", "Basic good", "good", "Bearer bad-secret"]) {
    const e = await authn.authenticate(h).catch((x: AppError) => x);
    expect((e as AppError).code).toBe("unauthenticated");
    expect((e as AppError).message).not.toContain("secret");
  }
  // Only the well-formed one reached the API server.
  expect(api.sent.length).toBe(1);
});

test("answers are kept: positive for the TTL, negative at most NEGATIVE_TTL_MS", async () => {
  const { api, authn, advance } = setup({ ttl: 10_000 });
  const alice = (await authn.authenticate("Bearer good")).user;
  await authn.authenticate("Bearer good");
  await authn.authenticate("Bearer nope").catch(() => {});
  await authn.authenticate("Bearer nope").catch(() => {});
  const attrs = (namespace: string) => ({ namespace, group: "results.tekton.dev", resource: "results", verb: "get" });
  expect(await authn.allowed(alice, attrs("ns-a"))).toBe(true);
  expect(await authn.allowed(alice, attrs("ns-b"))).toBe(false);
  expect(await authn.allowed(alice, attrs("ns-a"))).toBe(true);
  expect(await authn.allowed(alice, attrs("ns-b"))).toBe(false);
  expect(api.sent.length).toBe(4);
  advance(NEGATIVE_TTL_MS);
  await authn.authenticate("Bearer good");
  await authn.authenticate("Bearer nope").catch(() => {});
  await authn.allowed(alice, attrs("ns-a"));
  await authn.allowed(alice, attrs("ns-b"));
  expect(api.sent.length).toBe(6);
  advance(10_000);
  await authn.authenticate("Bearer good");
  expect(api.sent.length).toBe(7);
  // Another user (even one group more) is another question.
  await authn.allowed({ ...alice, groups: ["g", "h"] }, attrs("ns-a"));
  expect(api.sent.length).toBe(8);
});

test("SubjectAccessReview: the user's name, uid, groups and extra, and the attributes without empty fields", async () => {
  const { api, authn } = setup();
  const user: KubeUser = { username: "alice", uid: "u1", groups: ["g"], extra: { scopes: ["s"] } };
  await authn.allowed(user, { namespace: "ns-a", group: "results.tekton.dev", resource: "records", verb: "list" });
  await authn.allowed({ username: "bob", uid: "", groups: [], extra: {} }, { namespace: "", group: "", resource: "users", verb: "impersonate", name: "x" });
  expect(api.sent.map((s) => s.body)).toEqual([
    {
      apiVersion: "authorization.k8s.io/v1",
      kind: "SubjectAccessReview",
      spec: { user: "alice", uid: "u1", groups: ["g"], extra: { scopes: ["s"] }, resourceAttributes: { namespace: "ns-a", verb: "list", group: "results.tekton.dev", resource: "records" } },
    },
    { apiVersion: "authorization.k8s.io/v1", kind: "SubjectAccessReview", spec: { user: "bob", groups: [], resourceAttributes: { verb: "impersonate", resource: "users", name: "x" } } },
  ]);
});

test("an API server that cannot be asked is unavailable, never unauthenticated or an allow; nothing of it is kept", async () => {
  const { api, authn } = setup();
  api.setDown(true);
  expect(await codeOf(authn.authenticate("Bearer good"))).toBe("unavailable");
  const alice: KubeUser = { username: "alice", uid: "", groups: [], extra: {} };
  expect(await codeOf(authn.allowed(alice, { namespace: "ns-a", group: "results.tekton.dev", resource: "results", verb: "get" }))).toBe("unavailable");
  api.setDown(false);
  expect(await codeOf(authn.authenticate("Bearer good"))).toBe("ok");
  expect(await authn.allowed(alice, { namespace: "ns-a", group: "results.tekton.dev", resource: "results", verb: "get" })).toBe(true);
});

test("impersonation headers: honoured only when turned on; malformed ones refused before the token is reviewed", async () => {
  const off = setup({ impersonation: false });
  expect((await off.authn.authenticate("Bearer good", [["impersonate-user", "bob"]])).impersonation).toBeNull();
  const on = setup({ impersonation: true });
  const id = await on.authn.authenticate("Bearer good", [["impersonate-user", "bob"]]);
  expect(id.name).toBe("alice as bob");
  expect(id.impersonation?.as.username).toBe("bob");
  const e = await on.authn.authenticate("Bearer good", [["impersonate-group", "g"]]).catch((x: AppError) => x);
  expect((e as AppError).code).toBe("unauthenticated");
  expect(on.api.sent.length).toBe(1);
});
