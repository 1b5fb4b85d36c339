/**
 * Auth mode kubernetes: callers present Kubernetes bearer tokens (service
 * account tokens, `kubectl create token`, OIDC tokens the API server
 * accepts), and their permissions are the cluster's RBAC, exactly the
 * ClusterRoles upstream ships. This is both halves the core's Authorizer
 * needs for such identities: the Authenticator (TokenReview, impersonation
 * headers) and the AccessReviewer (SubjectAccessReview).
 *
 * Answers are cached (answer-cache.ts), keyed by a hash of the token (the
 * token itself is never kept, logged or shown) and by the full user and
 * attributes of each review. An API server that cannot be asked (down,
 * 5xx, TLS, timeouts, or refusing Hindsight's own credentials) makes the
 * call UNAVAILABLE: never an allow, and never UNAUTHENTICATED, which would
 * tell a client its valid token is bad.
 */
import { createHash } from "node:crypto";
import {
  bearerToken,
  unauthenticated,
  type AccessReviewer,
  type Authenticator,
  type ImpersonateHeader,
  type KubeIdentity,
  type KubeUser,
  type ResourceAttributes,
} from "../core/auth.ts";
import { AppError } from "../core/errors.ts";
import { log } from "../log.ts";
import { AnswerCache } from "./answer-cache.ts";
import { parseImpersonation } from "./impersonation.ts";
import { reviewAccess, reviewToken, type ReviewClient } from "./reviews.ts";

/** Negative answers are kept this long at most (or the TTL, when shorter). */
export const NEGATIVE_TTL_MS = 2000;
/** At most one warning per this interval while the API server cannot be asked (each refused call is audited anyway). */
const WARN_EVERY_MS = 10_000;

export interface KubeAuthOptions {
  client: ReviewClient;
  /** How long a positive answer is kept (ms; 0: not at all). Negative ones: min(NEGATIVE_TTL_MS, this). */
  cacheTtlMs: number;
  /** Whether `Impersonate-*` headers are honoured (otherwise ignored, as upstream with AUTH_IMPERSONATE=false). */
  impersonation: boolean;
  /** Names the API server in warnings (the kubeconfig context). */
  name?: string;
  now?: () => number;
}

export class KubeAuthenticator implements Authenticator, AccessReviewer {
  private readonly tokens: AnswerCache<KubeUser | null>;
  private readonly access: AnswerCache<boolean>;
  private lastWarning = -Infinity;
  private readonly now: () => number;

  constructor(private readonly opts: KubeAuthOptions) {
    this.now = opts.now ?? Date.now;
    const negative = Math.min(NEGATIVE_TTL_MS, opts.cacheTtlMs);
    this.tokens = new AnswerCache((user) => (user ? opts.cacheTtlMs : negative), 10_000, this.now);
    this.access = new AnswerCache((allowed) => (allowed ? opts.cacheTtlMs : negative), 50_000, this.now);
  }

  /**
   * The caller's identity: impersonation data is checked first (malformed:
   * UNAUTHENTICATED, as upstream), then the token by TokenReview. Whether
   * the user may impersonate whom it asks is the Authorizer's next step.
   */
  async authenticate(authorization: string, impersonate: readonly ImpersonateHeader[] = []): Promise<KubeIdentity> {
    const impersonation = this.opts.impersonation ? parseImpersonation(impersonate) : null;
    // Stricter than upstream, which takes whatever follows the first space whatever the scheme word.
    const token = bearerToken(authorization);
    const key = createHash("sha256").update(token).digest("base64");
    const user = await this.tokens.get(key, () => this.ask("TokenReview", () => reviewToken(this.opts.client, token)));
    if (!user) throw unauthenticated("invalid token: the Kubernetes API server does not authenticate it");
    return { name: impersonation ? `${user.username} as ${impersonation.as.username}` : user.username, user, impersonation };
  }

  allowed(user: KubeUser, attrs: ResourceAttributes): Promise<boolean> {
    const extra = Object.keys(user.extra)
      .sort()
      .map((k) => [k, user.extra[k]]);
    const key = JSON.stringify([
      user.username,
      user.uid,
      user.groups,
      extra,
      attrs.namespace,
      attrs.group,
      attrs.resource,
      attrs.subresource ?? "",
      attrs.verb,
      attrs.name ?? "",
    ]);
    return this.access.get(key, () => this.ask("SubjectAccessReview", () => reviewAccess(this.opts.client, user, attrs)));
  }

  /** Runs one review; any failure to get an answer becomes `unavailable` (and a rate-limited warning). */
  private async ask<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      const t = this.now();
      if (t - this.lastWarning >= WARN_EVERY_MS) {
        this.lastWarning = t;
        log.warn("auth mode kubernetes: cannot ask the Kubernetes API server; calls are refused with UNAVAILABLE", {
          review: what,
          context: this.opts.name,
          error: String((e as Error)?.message ?? e).slice(0, 500),
        });
      }
      throw new AppError("unavailable", `cannot check the call with the Kubernetes API server (${what}); try again later`);
    }
  }
}
