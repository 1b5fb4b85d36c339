/**
 * A cluster for auth mode kubernetes tests: the fake API server over HTTPS
 * (its own CA), accepting Hindsight's kubeconfig identity by token, with a
 * few users and an RBAC stand-in deciding SubjectAccessReviews:
 *
 *   reader  get and list in ns-a only (upstream's `readonly` ClusterRole bound there)
 *   editor  every verb in ns-a only (`admin` bound there)
 *   admin   every verb everywhere, cluster-wide included (a ClusterRoleBinding)
 *   nobody  authenticated, allowed nothing
 *   boss    nothing on results.tekton.dev, but may impersonate user "reader",
 *           group "devs", uid "u-1" and the "scopes" and "team" extras
 *   probe-* every verb in ns-a (fresh users, so nothing of theirs is cached)
 */
import { makeTestPki, type TestPki } from "./certs.ts";
import { FakeKube, type AccessReviewSpec, type ReviewUser } from "./fake-kube.ts";
import { writeKubeconfig } from "./kubeconfig.ts";

export const NS_A = "ns-a";
export const NS_B = "ns-b";
export const RESULTS_GROUP = "results.tekton.dev";
/** Hindsight's own identity on the API server (what its kubeconfig presents). */
const HINDSIGHT_TOKEN = "hindsight-service-account-token";

export const USERS = ["reader", "editor", "admin", "nobody", "boss"] as const;
export type KubeUserName = (typeof USERS)[number];

/** The bearer token of a user (as `kubectl create token` would give). */
export const tokenOf = (user: string) => `k8s-token-of-${user}`;

function rbac(spec: AccessReviewSpec): boolean {
  const a = spec.resourceAttributes;
  if (a.verb === "impersonate") {
    if (spec.user !== "boss") return false;
    if (a.resource === "users") return a.name === "reader";
    if (a.resource === "groups") return a.name === "devs";
    if (a.resource === "uids") return a.group === "authentication.k8s.io" && a.name === "u-1";
    if (a.resource === "userextras") return a.group === "authentication.k8s.io" && (a.subresource === "scopes" || a.subresource === "team");
    return false;
  }
  if (a.group !== RESULTS_GROUP) return false;
  const ns = a.namespace ?? "";
  if (spec.user === "admin") return true;
  if (spec.user === "editor" || spec.user.startsWith("probe-")) return ns === NS_A;
  if (spec.user === "reader") return ns === NS_A && (a.verb === "get" || a.verb === "list");
  return false;
}

export interface KubeAuthCluster {
  kube: FakeKube;
  pki: TestPki;
  /** A kubeconfig for Hindsight: trusts the cluster's CA, presents its token. */
  kubeconfig: string;
  /** A user the API server authenticates (by tokenOf(name)); groups include system:authenticated. */
  addUser(name: string, extra?: Partial<ReviewUser>): string;
}

export async function startKubeAuthCluster(dir: string, opts: { port?: number; pki?: TestPki } = {}): Promise<KubeAuthCluster> {
  const pki = opts.pki ?? makeTestPki();
  const kube = await new FakeKube({ tls: { cert: pki.server.cert, key: pki.server.key }, tokens: [HINDSIGHT_TOKEN], port: opts.port }).start();
  kube.access = rbac;
  const addUser = (name: string, extra: Partial<ReviewUser> = {}) => {
    kube.users.set(tokenOf(name), { username: name, uid: `uid-${name}`, groups: ["system:authenticated"], ...extra });
    return tokenOf(name);
  };
  for (const u of USERS) addUser(u);
  const kubeconfig = writeKubeconfig(dir, "auth.kubeconfig", [{ name: "auth", server: kube.url, ca: pki.ca.cert, user: { token: HINDSIGHT_TOKEN } }]);
  return { kube, pki, kubeconfig, addUser };
}
