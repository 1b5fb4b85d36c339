/**
 * Impersonation in auth mode kubernetes (spec §6.4): the `Impersonate-User`,
 * `Impersonate-Group` (repeatable), `Impersonate-Uid` and
 * `Impersonate-Extra-<key>` headers (gRPC: the same names, lower-case, as
 * metadata) turned into the user who acts and the SubjectAccessReviews the
 * authenticated user must pass first, by the rules the Kubernetes API
 * server itself applies.
 *
 * A repeated header reaches us joined by ", " (HTTP/2 and Fetch's Headers
 * join repeated fields, over gRPC as over REST), so every value is split on
 * commas: `Impersonate-Group: a, b` is two groups, and two
 * `Impersonate-User` or `-Uid` values are refused as ambiguous. A name
 * containing a comma cannot be impersonated.
 *
 * Upstream keeps only the last key when several different
 * `Impersonate-Extra-*` keys are sent (a bug, spec §6.4); every key is kept
 * here.
 */
import { unauthenticated, type ImpersonateHeader, type Impersonation, type ResourceAttributes } from "../core/auth.ts";

const INVALID = "invalid impersonation data";
const EXTRA_PREFIX = "impersonate-extra-";
const SERVICE_ACCOUNT_RE = /^system:serviceaccount:([^:]+):([^:]+)$/;
const ANONYMOUS = "system:anonymous";
const AUTHENTICATED = "system:authenticated";
const UNAUTHENTICATED = "system:unauthenticated";

/**
 * The impersonation the headers ask for, or null when they ask for none.
 * Throws `unauthenticated` "invalid impersonation data" for headers that do
 * not make one identity: groups, uid or extra without a user, two users or
 * two uids, an extra key that is empty or not valid %-encoding.
 */
export function parseImpersonation(headers: readonly ImpersonateHeader[]): Impersonation | null {
  const users: string[] = [];
  const groups: string[] = [];
  const uids: string[] = [];
  const extra: Record<string, string[]> = {};
  for (const [rawName, joined] of headers) {
    const name = rawName.toLowerCase();
    const values = joined.split(",").map((v) => v.trim());
    if (name === "impersonate-user") users.push(...values);
    else if (name === "impersonate-group") groups.push(...values.filter((v) => v !== ""));
    else if (name === "impersonate-uid") uids.push(...values);
    else if (name.startsWith(EXTRA_PREFIX)) {
      let key: string;
      try {
        key = decodeURIComponent(name.slice(EXTRA_PREFIX.length)).toLowerCase();
      } catch {
        throw unauthenticated(`${INVALID}: an Impersonate-Extra- key is not valid %-encoding`);
      }
      if (key === "") throw unauthenticated(`${INVALID}: an Impersonate-Extra- header without a key`);
      (extra[key] ??= []).push(...values.filter((v) => v !== ""));
    }
  }
  const extraKeys = Object.keys(extra);
  if (users.length === 0 && groups.length === 0 && uids.length === 0 && extraKeys.length === 0) return null;
  if (users.length !== 1 || users[0] === "") throw unauthenticated(`${INVALID}: Impersonate-Group, -Uid and -Extra- need exactly one Impersonate-User`);
  if (uids.length > 1 || uids[0] === "") throw unauthenticated(`${INVALID}: more than one Impersonate-Uid, or an empty one`);
  const username = users[0]!;

  const checks: ResourceAttributes[] = [];
  const sa = SERVICE_ACCOUNT_RE.exec(username);
  if (sa) {
    checks.push({ namespace: sa[1]!, group: "", resource: "serviceaccounts", verb: "impersonate", name: sa[2]! });
  } else {
    checks.push({ namespace: "", group: "", resource: "users", verb: "impersonate", name: username });
  }
  for (const g of groups) checks.push({ namespace: "", group: "", resource: "groups", verb: "impersonate", name: g });
  if (uids.length === 1) checks.push({ namespace: "", group: "authentication.k8s.io", resource: "uids", verb: "impersonate", name: uids[0]! });
  for (const key of extraKeys) {
    for (const v of extra[key]!) checks.push({ namespace: "", group: "authentication.k8s.io", resource: "userextras", subresource: key, verb: "impersonate", name: v });
  }

  // What the API server adds by itself: a service account's groups when none
  // were asked for, and the authenticated / unauthenticated marker.
  const asGroups = [...groups];
  if (sa && groups.length === 0) asGroups.push("system:serviceaccounts", `system:serviceaccounts:${sa[1]}`);
  if (username === ANONYMOUS) {
    if (!asGroups.includes(UNAUTHENTICATED)) asGroups.push(UNAUTHENTICATED);
  } else if (!asGroups.includes(AUTHENTICATED) && !asGroups.includes(UNAUTHENTICATED)) {
    asGroups.push(AUTHENTICATED);
  }
  return { as: { username, uid: uids[0] ?? "", groups: asGroups, extra }, checks };
}
