/**
 * Who may do what: the one authorizer every RPC goes through, whichever
 * transport it came by. It knows identities, roles and parent scopes; how a
 * credential becomes an identity is an Authenticator's business (Hindsight's
 * own tokens in src/store/tokens.ts; Kubernetes later), so the rules below
 * hold for every mode.
 *
 * Order of checks, so that nobody learns what exists where they may not
 * look: credentials (UNAUTHENTICATED), then the role (PERMISSION_DENIED),
 * then the parent (PERMISSION_DENIED) — all before any lookup. Upstream
 * answers every denial with UNAUTHENTICATED; the split is deliberate and is
 * recorded in docs/compatibility.md.
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

export interface Identity {
  /** Shown in the audit log; never a secret. */
  name: string;
  role: Role;
  /** Parent globs the identity is limited to; null = every parent. */
  parents: readonly string[] | null;
}

/** The identity used when auth mode is `none`: loopback only, so whoever can connect owns the machine anyway. */
export const ANONYMOUS_ADMIN: Identity = { name: "anonymous", role: "admin", parents: null };

/** Turns the `authorization` value of a call into an identity. */
export interface Authenticator {
  /**
   * `authorization`: the header / metadata value, "" when absent.
   * Throws `unauthenticated` for missing, malformed, unknown or revoked
   * credentials; `unavailable` when the authority cannot be asked.
   */
  authenticate(authorization: string): Identity | Promise<Identity>;
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
export function mayAccessParent(id: Identity, parent: string): boolean {
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

/** What a call asks to do, to what: `parent` is the namespace ("-" for every parent a list may see). */
export interface Access {
  action: Action;
  parent: string;
  /** Whether `parent` may be "-" (lists and summaries); elsewhere "-" is just another name the service rejects. */
  list: boolean;
}

/** The outcome of a check: who asked, and for "-" lists the globs to narrow the list to (null = all). */
export interface Granted {
  identity: Identity;
  scope: readonly string[] | null;
}

export class Authorizer {
  constructor(private readonly authn: Authenticator | null) {}

  /** Whether calls are checked at all (false in mode `none`). */
  get enabled(): boolean {
    return this.authn !== null;
  }

  /**
   * Checks one call. Throws `unauthenticated` or `permission_denied`; for a
   * "-" list returns the scope to push into the query, so pages stay
   * correct (no filtering after the fact).
   */
  async authorize(authorization: string, access: Access): Promise<Granted> {
    return this.permit(await this.identify(authorization), access);
  }

  /** Step one of `authorize`: who is calling (throws `unauthenticated`). */
  identify(authorization: string): Identity | Promise<Identity> {
    return this.authn ? this.authn.authenticate(authorization) : ANONYMOUS_ADMIN;
  }

  /** Step two of `authorize`: may this identity do this (throws `permission_denied`). */
  permit(identity: Identity, access: Access): Granted {
    if (!ROLE_ACTIONS[identity.role].has(access.action)) {
      throw permissionDenied(`role ${identity.role} may not ${access.action}`);
    }
    if (access.list && access.parent === "-") return { identity, scope: identity.parents };
    if (!mayAccessParent(identity, access.parent)) {
      throw permissionDenied(`not permitted for parent ${JSON.stringify(access.parent.slice(0, 80))}`);
    }
    return { identity, scope: null };
  }
}
