/**
 * Who may do what: the one authorizer every RPC goes through, whichever
 * transport it came by. How a credential becomes an identity is an
 * Authenticator's business (Hindsight's own tokens in src/store/tokens.ts,
 * Kubernetes TokenReview in src/kube-auth/), so the order below holds for
 * every mode.
 *
 * Two kinds of identity: a token's carries its role and parent globs, and
 * is decided here; a Kubernetes user's permissions live in the cluster's
 * RBAC, so for it the same step asks an AccessReviewer (SubjectAccessReview)
 * instead, with the call's permission in upstream's terms (spec §6.3).
 *
 * Order of checks, so that nobody learns what exists where they may not
 * look: credentials (UNAUTHENTICATED), then permission — role and parent,
 * or impersonation and RBAC (PERMISSION_DENIED) — all before any lookup.
 * Upstream answers every denial with UNAUTHENTICATED; the split is
 * deliberate and is recorded in docs/compatibility.md.
 */
import { AppError } from "./errors.ts";

export const Roles = ["viewer", "writer", "admin"] as const;
export type Role = (typeof Roles)[number];

/** What a call does: viewers read, writers also create and update, admins also delete and manage tokens. */
export type Action = "read" | "write" | "delete";

const ROLE_ACTIONS: Record<Role, ReadonlySet<Action>> = {
  viewer: new Set(["read"]),
  writer: new Set(["read", "write"]),
  admin: new Set(["read", "write", "delete"]),
};

/** An identity whose permissions are decided here: a Hindsight token's (or mode `none`'s). */
export interface RoleIdentity {
  /** Shown in the audit log; never a secret. */
  name: string;
  role: Role;
  /** Parent globs the identity is limited to; null = every parent. */
  parents: readonly string[] | null;
}

/** A user as Kubernetes knows it (TokenReview's `status.user`, SubjectAccessReview's subject). */
export interface KubeUser {
  username: string;
  uid: string;
  groups: readonly string[];
  extra: Readonly<Record<string, readonly string[]>>;
}

/** SubjectAccessReview `resourceAttributes`; namespace "" is cluster-wide. */
export interface ResourceAttributes {
  namespace: string;
  group: string;
  resource: string;
  verb: string;
  name?: string;
  subresource?: string;
}

/** Impersonation asked for by a Kubernetes user (spec §6.4). */
export interface Impersonation {
  /** Who acts, once every check is allowed. */
  as: KubeUser;
  /** What the authenticated user must be allowed (verb `impersonate`) before `as` is used. */
  checks: readonly ResourceAttributes[];
}

/** An identity whose permissions live in a cluster's RBAC (mode `kubernetes`). */
export interface KubeIdentity {
  /** Shown in the audit log: the username, and whom it impersonates. */
  name: string;
  /** Who the credentials prove to be. */
  user: KubeUser;
  impersonation: Impersonation | null;
}

export type Identity = RoleIdentity | KubeIdentity;

export const isKubeIdentity = (id: Identity): id is KubeIdentity => "user" in id;

/** The identity used when auth mode is `none`: loopback only, so whoever can connect owns the machine anyway. */
export const ANONYMOUS_ADMIN: RoleIdentity = { name: "anonymous", role: "admin", parents: null };

/** One `impersonate-*` header or metadata entry: [lower-case name, value]. */
export type ImpersonateHeader = readonly [name: string, value: string];

/** What a call presents to say who it is. */
export interface Credentials {
  /** The `authorization` header / metadata value, "" when absent. */
  authorization: string;
  /** Its `impersonate-*` headers / metadata (used in mode kubernetes with impersonation on); absent or empty when none. */
  impersonate?: readonly ImpersonateHeader[];
}

/** Turns the credentials of a call into an identity. */
export interface Authenticator {
  /**
   * `authorization`: the header / metadata value, "" when absent.
   * `impersonate`: the call's impersonate-* entries; an authenticator
   * without impersonation ignores them.
   * Throws `unauthenticated` for missing, malformed, unknown or revoked
   * credentials; `unavailable` when the authority cannot be asked.
   */
  authenticate(authorization: string, impersonate?: readonly ImpersonateHeader[]): Identity | Promise<Identity>;
}

/**
 * Asks an outside authority whether a Kubernetes user may do something
 * (SubjectAccessReview). Throws `unavailable` when it cannot be asked:
 * an outage is never an answer either way.
 */
export interface AccessReviewer {
  allowed(user: KubeUser, attrs: ResourceAttributes): Promise<boolean>;
}

/** What the authorizer needs for identities it cannot decide itself (mode kubernetes). */
export interface Delegation {
  reviewer: AccessReviewer;
  /**
   * Every parent that holds data, from the store (the core knows no
   * database): a "-" list of a user without cluster-wide permission is
   * narrowed to those of them the user is allowed.
   */
  parents(): Promise<readonly string[]>;
}

/**
 * Parent globs: the parent alphabet (`a-z 0-9 _ -`) plus `*` (any run) and
 * `?` (one character). Kept to these so SQLite's GLOB (used to push the
 * scope into list queries) and `globMatches` agree exactly.
 */
export const PARENT_GLOB_RE = /^[a-z0-9_*?-]{1,63}$/;

export function isParentGlob(s: string): boolean {
  return PARENT_GLOB_RE.test(s);
}

const globCache = new Map<string, RegExp>();

/** Whether `parent` matches `glob` (see PARENT_GLOB_RE). */
export function globMatches(glob: string, parent: string): boolean {
  let re = globCache.get(glob);
  if (!re) {
    re = new RegExp(`^${glob.replace(/\*/g, ".*").replace(/\?/g, ".")}$`, "s");
    globCache.set(glob, re);
  }
  return re.test(parent);
}

/** Whether an identity may see `parent` at all. */
export function mayAccessParent(id: RoleIdentity, parent: string): boolean {
  return id.parents === null || id.parents.some((g) => globMatches(g, parent));
}

export const unauthenticated = (message: string) => new AppError("unauthenticated", message);
export const permissionDenied = (message: string) => new AppError("permission_denied", message);

/**
 * The bearer token of an `Authorization` value. Throws `unauthenticated`
 * for anything else, naming what is wrong but never echoing the value.
 */
export function bearerToken(authorization: string): string {
  if (authorization === "") throw unauthenticated("credentials required: send 'Authorization: Bearer TOKEN'");
  const m = /^bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization);
  if (!m) throw unauthenticated("malformed Authorization: expected 'Bearer TOKEN'");
  return m[1]!;
}

/** The API group upstream's RBAC checks name (spec §6.3). */
export const RESULTS_API_GROUP = "results.tekton.dev";

/** A permission as upstream's RBAC check names it: a resource of RESULTS_API_GROUP and a verb. */
export interface RbacCheck {
  resource: "results" | "records" | "logs";
  verb: "create" | "get" | "update" | "delete" | "list";
}

/** What a call asks to do, to what: `parent` is the namespace ("-" for every parent a list may see). */
export interface Access {
  action: Action;
  parent: string;
  /** Whether `parent` may be "-" (lists and summaries); elsewhere "-" is just another name the service rejects. */
  list: boolean;
  /** The same call in Kubernetes RBAC terms (spec §6.3): each must be allowed in the parent's namespace. */
  rbac: readonly RbacCheck[];
}

/** The outcome of a check: who asked, and for "-" lists the globs to narrow the list to (null = all). */
export interface Granted {
  identity: Identity;
  scope: readonly string[] | null;
}

/** Only names of this alphabet are asked about per parent: a stored parent never holds a glob character. */
const PARENT_NAME_RE = /^[a-z0-9_-]{1,63}$/;
/** SubjectAccessReviews asked at once when a "-" list is narrowed parent by parent. */
const REVIEWS_AT_ONCE = 8;

export class Authorizer {
  /**
   * `authn`: null in mode `none` (every call is the anonymous admin).
   * `delegation`: needed when `authn` yields Kubernetes identities.
   */
  constructor(
    private readonly authn: Authenticator | null,
    private readonly delegation: Delegation | null = null,
  ) {}

  /** Whether calls are checked at all (false in mode `none`). */
  get enabled(): boolean {
    return this.authn !== null;
  }

  /**
   * Checks one call. Throws `unauthenticated` or `permission_denied`; for a
   * "-" list returns the scope to push into the query, so pages stay
   * correct (no filtering after the fact).
   */
  async authorize(credentials: Credentials | string, access: Access): Promise<Granted> {
    return this.permit(await this.identify(credentials), access);
  }

  /** Step one of `authorize`: who is calling (throws `unauthenticated`). */
  identify(credentials: Credentials | string): Identity | Promise<Identity> {
    const c = typeof credentials === "string" ? { authorization: credentials } : credentials;
    return this.authn ? this.authn.authenticate(c.authorization, c.impersonate ?? []) : ANONYMOUS_ADMIN;
  }

  /**
   * Step two of `authorize`: may this identity do this (throws
   * `permission_denied`). Synchronous for token identities; a Kubernetes
   * identity's answer comes from the cluster.
   */
  permit(identity: Identity, access: Access): Granted | Promise<Granted> {
    if (isKubeIdentity(identity)) return this.permitKube(identity, access);
    if (!ROLE_ACTIONS[identity.role].has(access.action)) {
      throw permissionDenied(`role ${identity.role} may not ${access.action}`);
    }
    if (access.list && access.parent === "-") return { identity, scope: identity.parents };
    if (!mayAccessParent(identity, access.parent)) {
      throw permissionDenied(`not permitted for parent ${JSON.stringify(access.parent.slice(0, 80))}`);
    }
    return { identity, scope: null };
  }

  /**
   * Impersonation first (the authenticated user must be allowed each part
   * of it), then the call's RBAC checks for whoever acts. A "-" list asks
   * cluster-wide first, as upstream does; where that is refused, rather
   * than refusing the whole list (upstream), it asks per stored parent and
   * narrows the list to the allowed ones, as token scopes do.
   */
  private async permitKube(identity: KubeIdentity, access: Access): Promise<Granted> {
    const d = this.delegation;
    if (!d) throw new AppError("internal", "no access reviewer for Kubernetes identities");
    const user = identity.user;
    if (identity.impersonation) {
      const checks = identity.impersonation.checks;
      const answers = await Promise.all(checks.map((c) => d.reviewer.allowed(user, c)));
      const refused = checks.find((_, i) => !answers[i]);
      if (refused) {
        const what = refused.subresource ? `${refused.resource}/${refused.subresource}` : refused.resource;
        throw permissionDenied(`user ${quote(user.username)} may not impersonate ${what} ${quote(refused.name ?? "")}`);
      }
    }
    const acting = identity.impersonation?.as ?? user;
    /** The first of the call's checks refused in `namespace`, or null when all are allowed. */
    const refusedIn = async (namespace: string): Promise<RbacCheck | null> => {
      for (const r of access.rbac) {
        if (!(await d.reviewer.allowed(acting, { namespace, group: RESULTS_API_GROUP, resource: r.resource, verb: r.verb }))) return r;
      }
      return null;
    };
    if (access.list && access.parent === "-") {
      if ((await refusedIn("")) === null) return { identity, scope: null };
      const parents = (await d.parents()).filter((p) => PARENT_NAME_RE.test(p));
      const allowed = await mapAtMost(parents, REVIEWS_AT_ONCE, async (p) => (await refusedIn(p)) === null);
      return { identity, scope: parents.filter((_, i) => allowed[i]) };
    }
    const refused = await refusedIn(access.parent);
    if (refused) {
      throw permissionDenied(`user ${quote(acting.username)} may not ${refused.verb} ${refused.resource} in namespace ${quote(access.parent)}`);
    }
    return { identity, scope: null };
  }
}

const quote = (s: string) => JSON.stringify(s.slice(0, 120));

/** `fn` over `items`, at most `n` at a time, answers in order. */
async function mapAtMost<T, R>(items: readonly T[], n: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
  return out;
}
