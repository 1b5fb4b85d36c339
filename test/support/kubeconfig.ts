/**
 * Writes kubeconfig files for tests: one context per fake cluster, with the
 * auth form under test (CA data or file, client certificate, token, token
 * file, exec plugin, insecure-skip-tls-verify). Files go to a temporary
 * directory; the keys in them are test-only (see certs.ts).
 */
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface ContextSpec {
  name: string;
  server: string;
  /** PEM of the CA to trust; written as certificate-authority-data unless caFile. */
  ca?: string;
  caFile?: boolean;
  insecure?: boolean;
  tlsServerName?: string;
  user:
    | { token: string }
    | { tokenFile: string }
    | { cert: string; key: string; files?: boolean }
    | { exec: { command: string; args?: string[]; env?: Array<{ name: string; value: string }> } }
    | Record<string, never>;
  namespace?: string;
}

const b64 = (s: string) => Buffer.from(s).toString("base64");

/** Writes a kubeconfig to `dir/name` and returns its path. */
export function writeKubeconfig(dir: string, file: string, contexts: ContextSpec[], current?: string): string {
  const clusters: unknown[] = [];
  const users: unknown[] = [];
  const ctxs: unknown[] = [];
  for (const c of contexts) {
    const cluster: Record<string, unknown> = { server: c.server };
    if (c.ca && c.caFile) {
      const p = join(dir, `${c.name}-ca.crt`);
      writeFileSync(p, c.ca);
      cluster["certificate-authority"] = p;
    } else if (c.ca) cluster["certificate-authority-data"] = b64(c.ca);
    if (c.insecure) cluster["insecure-skip-tls-verify"] = true;
    if (c.tlsServerName) cluster["tls-server-name"] = c.tlsServerName;
    clusters.push({ name: `${c.name}-cluster`, cluster });
    const u = c.user as Record<string, unknown>;
    const user: Record<string, unknown> = {};
    if (typeof u.token === "string") user.token = u.token;
    if (typeof u.tokenFile === "string") user["token-file"] = u.tokenFile;
    if (typeof u.cert === "string") {
      if (u.files) {
        const cp = join(dir, `${c.name}-client.crt`);
        const kp = join(dir, `${c.name}-client.key`);
        writeFileSync(cp, u.cert as string);
        writeFileSync(kp, u.key as string);
        user["client-certificate"] = cp;
        user["client-key"] = kp;
      } else {
        user["client-certificate-data"] = b64(u.cert as string);
        user["client-key-data"] = b64(u.key as string);
      }
    }
    if (u.exec) user.exec = { apiVersion: "client.authentication.k8s.io/v1", interactiveMode: "Never", ...(u.exec as object) };
    users.push({ name: `${c.name}-user`, user });
    ctxs.push({ name: c.name, context: { cluster: `${c.name}-cluster`, user: `${c.name}-user`, ...(c.namespace ? { namespace: c.namespace } : {}) } });
  }
  const doc = { apiVersion: "v1", kind: "Config", clusters, users, contexts: ctxs, "current-context": current ?? contexts[0]?.name ?? "" };
  const path = join(dir, file);
  // JSON is YAML: kubeconfig readers accept it.
  writeFileSync(path, JSON.stringify(doc, null, 2));
  chmodSync(path, 0o600);
  return path;
}

/**
 * An exec credential plugin: a shell script printing an ExecCredential with
 * `token` (as EKS's aws-iam-authenticator or gke-gcloud-auth-plugin do).
 * It appends a line to `countFile` on each run, so tests can see it ran.
 */
export function writeExecPlugin(dir: string, token: string, countFile: string): string {
  const p = join(dir, "credential-plugin.sh");
  writeFileSync(
    p,
    `#!/bin/sh
echo run >> "${countFile}"
cat <<EOF
{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"${token}"}}
EOF
`,
  );
  chmodSync(p, 0o755);
  return p;
}
