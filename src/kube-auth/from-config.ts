/**
 * Auth mode kubernetes from the configuration: which API server to ask and
 * as whom (`--auth-kubeconfig`, else the watcher's `--kubeconfig`, else
 * $KUBECONFIG, ~/.kube/config or the in-cluster service account, as kubectl
 * finds them; `--auth-context`, else the current context), with the same
 * kubeconfig loading and Bun TLS handling as the watcher (src/watch/kube.ts).
 * Loaded only in this mode: the Kubernetes client is a large module.
 */
import type { Config } from "../config/config.ts";
import { ConfigError } from "../config/errors.ts";
import { KubeClient } from "../watch/kube.ts";
import { KubeAuthenticator } from "./authenticator.ts";

/** A review that takes longer is an outage (UNAVAILABLE), not a reason to hold the call. */
const REVIEW_TIMEOUT_MS = 5000;

type AuthConfig = Pick<Config, "authKubeconfig" | "kubeconfig" | "authContext" | "authCacheTtlMs" | "authImpersonation">;

/** The authenticator of mode kubernetes; a kubeconfig that cannot be used stops the start (ConfigError). */
export function kubeAuthFromConfig(cfg: AuthConfig): KubeAuthenticator {
  const kubeconfig = cfg.authKubeconfig ?? cfg.kubeconfig;
  let client: KubeClient;
  try {
    client = new KubeClient({ name: "auth", kubeconfig, context: cfg.authContext, requestTimeoutMs: REVIEW_TIMEOUT_MS });
  } catch (e) {
    const where = cfg.authKubeconfig ? `--auth-kubeconfig ${cfg.authKubeconfig}` : kubeconfig ? `--kubeconfig ${kubeconfig}` : "the default kubeconfig";
    throw new ConfigError(`--auth-mode kubernetes: cannot use ${where}: ${(e as Error).message}`);
  }
  return new KubeAuthenticator({ client, cacheTtlMs: cfg.authCacheTtlMs, impersonation: cfg.authImpersonation, name: client.context });
}
