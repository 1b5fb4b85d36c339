/**
 * The two Kubernetes API calls auth mode kubernetes makes, as upstream
 * makes them (spec §6.2): a TokenReview (authentication.k8s.io/v1) turns a
 * bearer token into a user, a SubjectAccessReview (authorization.k8s.io/v1)
 * asks whether a user may do something. Both are "create" calls that store
 * nothing. Only the wire format lives here; caching and the mapping of
 * failures to error codes are the authenticator's (authenticator.ts).
 */
import type { KubeUser, ResourceAttributes } from "../core/auth.ts";

/** What sends the reviews: src/watch/kube.ts' KubeClient (kubeconfig auth and TLS over Bun's fetch). */
export interface ReviewClient {
  /** POSTs `body` as JSON to `path` on the API server; the parsed answer. Throws when there is none (network, TLS, HTTP error). */
  postJson(path: string, body: unknown): Promise<unknown>;
}

export const TOKEN_REVIEWS = "/apis/authentication.k8s.io/v1/tokenreviews";
export const ACCESS_REVIEWS = "/apis/authorization.k8s.io/v1/subjectaccessreviews";

interface TokenReviewStatus {
  authenticated?: boolean;
  user?: { username?: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> };
}

/** The user a token belongs to, or null when the API server does not authenticate it. */
export async function reviewToken(client: ReviewClient, token: string): Promise<KubeUser | null> {
  const answer = (await client.postJson(TOKEN_REVIEWS, {
    apiVersion: "authentication.k8s.io/v1",
    kind: "TokenReview",
    spec: { token },
  })) as { status?: TokenReviewStatus } | null;
  const st = answer?.status;
  if (!st?.authenticated || !st.user?.username) return null;
  const extra: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(st.user.extra ?? {})) if (Array.isArray(v)) extra[k] = v.map(String);
  return { username: st.user.username, uid: st.user.uid ?? "", groups: (st.user.groups ?? []).map(String), extra };
}

/**
 * Whether `user` may do `attrs`. Fields that are empty are left out, as Go's
 * `omitempty` leaves them out of upstream's request (namespace "" is
 * cluster-wide).
 */
export async function reviewAccess(client: ReviewClient, user: KubeUser, attrs: ResourceAttributes): Promise<boolean> {
  const resourceAttributes: Record<string, string> = {};
  for (const k of ["namespace", "verb", "group", "resource", "subresource", "name"] as const) {
    const v = attrs[k];
    if (v) resourceAttributes[k] = v;
  }
  const spec: Record<string, unknown> = { user: user.username, groups: user.groups, resourceAttributes };
  if (user.uid) spec.uid = user.uid;
  if (Object.keys(user.extra).length > 0) spec.extra = user.extra;
  const answer = (await client.postJson(ACCESS_REVIEWS, {
    apiVersion: "authorization.k8s.io/v1",
    kind: "SubjectAccessReview",
    spec,
  })) as { status?: { allowed?: boolean } } | null;
  return answer?.status?.allowed === true;
}
