import { expect, test } from "bun:test";
import type { AppError } from "../core/errors.ts";
import { parseImpersonation } from "./impersonation.ts";

const invalid = (h: Array<[string, string]>) => {
  try {
    parseImpersonation(h);
  } catch (e) {
    return `${(e as AppError).code}: ${(e as AppError).message}`;
  }
  return "accepted";
};

test("no impersonate-* header: no impersonation", () => {
  expect(parseImpersonation([])).toBeNull();
});

test("a user: reviewed as users/<name>; system:authenticated is added to its groups", () => {
  expect(parseImpersonation([["impersonate-user", "alice"]])).toEqual({
    as: { username: "alice", uid: "", groups: ["system:authenticated"], extra: {} },
    checks: [{ namespace: "", group: "", resource: "users", verb: "impersonate", name: "alice" }],
  });
});

test("a service account: reviewed as serviceaccounts/<name> in its namespace, with its groups when none are given", () => {
  const imp = parseImpersonation([["impersonate-user", "system:serviceaccount:ci:builder"]])!;
  expect(imp.checks).toEqual([{ namespace: "ci", group: "", resource: "serviceaccounts", verb: "impersonate", name: "builder" }]);
  expect(imp.as.groups).toEqual(["system:serviceaccounts", "system:serviceaccounts:ci", "system:authenticated"]);
  const withGroup = parseImpersonation([["impersonate-user", "system:serviceaccount:ci:builder"], ["impersonate-group", "g"]])!;
  expect(withGroup.as.groups).toEqual(["g", "system:authenticated"]);
});

test("anonymous gets system:unauthenticated; a group list with either marker is kept as given", () => {
  expect(parseImpersonation([["impersonate-user", "system:anonymous"]])!.as.groups).toEqual(["system:unauthenticated"]);
  expect(parseImpersonation([["impersonate-user", "bob"], ["impersonate-group", "system:unauthenticated"]])!.as.groups).toEqual(["system:unauthenticated"]);
});

test("groups, uid and every extra key (several keys kept, unlike upstream), each reviewed; keys lower-cased and %-decoded", () => {
  const imp = parseImpersonation([
    ["impersonate-user", "alice"],
    ["impersonate-group", "devs"],
    ["impersonate-group", "ops"],
    ["impersonate-uid", "u-1"],
    ["impersonate-extra-scopes", "read"],
    ["impersonate-extra-scopes", "write"],
    ["Impersonate-Extra-Acme.com%2Fteam", "x"],
  ])!;
  expect(imp.as).toEqual({
    username: "alice",
    uid: "u-1",
    groups: ["devs", "ops", "system:authenticated"],
    extra: { scopes: ["read", "write"], "acme.com/team": ["x"] },
  });
  expect(imp.checks.map((c) => [c.group, c.resource, c.subresource ?? "", c.name])).toEqual([
    ["", "users", "", "alice"],
    ["", "groups", "", "devs"],
    ["", "groups", "", "ops"],
    ["authentication.k8s.io", "uids", "", "u-1"],
    ["authentication.k8s.io", "userextras", "scopes", "read"],
    ["authentication.k8s.io", "userextras", "scopes", "write"],
    ["authentication.k8s.io", "userextras", "acme.com/team", "x"],
  ]);
  expect(imp.checks.every((c) => c.verb === "impersonate" && c.namespace === "")).toBe(true);
});

test("repeated headers arrive joined by ', ': split again into groups and extra values", () => {
  const imp = parseImpersonation([["impersonate-user", "alice"], ["impersonate-group", "devs, ops"], ["impersonate-extra-scopes", "a,b"]])!;
  expect(imp.as.groups).toEqual(["devs", "ops", "system:authenticated"]);
  expect(imp.as.extra).toEqual({ scopes: ["a", "b"] });
});

test("malformed data is unauthenticated 'invalid impersonation data'", () => {
  for (const h of [
    [["impersonate-group", "devs"]],
    [["impersonate-uid", "u"]],
    [["impersonate-extra-k", "v"]],
    [["impersonate-user", ""], ["impersonate-group", "devs"]],
    [["impersonate-user", "a"], ["impersonate-user", "b"]],
    [["impersonate-user", "a, b"]],
    [["impersonate-user", "a"], ["impersonate-uid", "1, 2"]],
    [["impersonate-user", "a"], ["impersonate-uid", ""]],
    [["impersonate-user", "a"], ["impersonate-uid", "1"], ["impersonate-uid", "2"]],
    [["impersonate-user", "a"], ["impersonate-extra-", "v"]],
    [["impersonate-user", "a"], ["impersonate-extra-%zz", "v"]],
  ] as Array<Array<[string, string]>>) {
    expect(invalid(h)).toStartWith("unauthenticated: invalid impersonation data");
  }
});
