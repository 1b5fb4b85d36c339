/**
 * Auth settings of `serve` (`--auth-mode`, HINDSIGHT_AUTH_MODE), kept apart
 * from config.ts so the auth work and the config file can grow
 * independently. The mode's default depends on where Hindsight listens:
 * `none` is only safe when nobody but local users can connect.
 */
import { ConfigError } from "./config.ts";

export const AuthModes = ["token", "kubernetes", "none"] as const;
export type AuthMode = (typeof AuthModes)[number];

export function parseAuthMode(raw: string, source: string): AuthMode {
  const v = raw.trim();
  if (!(AuthModes as readonly string[]).includes(v)) {
    throw new ConfigError(`${source}: ${JSON.stringify(raw)} is not an auth mode (${AuthModes.join(", ")})`);
  }
  return v as AuthMode;
}

/** Whether a "HOST:PORT" listen address accepts loopback connections only. */
export function isLoopbackListen(listen: string): boolean {
  const host = listen.slice(0, listen.lastIndexOf(":")).replace(/^\[|\]$/g, "").toLowerCase();
  return host === "localhost" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/**
 * The mode to run with: the configured one, or the default for these
 * listeners (`none` on loopback, `token` beyond). Refuses `none` when a
 * listener is reachable from other machines, and says why.
 */
export function resolveAuthMode(configured: AuthMode | null, listeners: Record<string, string>): AuthMode {
  const open = Object.entries(listeners).filter(([, addr]) => !isLoopbackListen(addr));
  if (configured === null) return open.length === 0 ? "none" : "token";
  if (configured === "none" && open.length > 0) {
    const where = open.map(([flag, addr]) => `--${flag} ${addr}`).join(", ");
    throw new ConfigError(
      `--auth-mode none is only allowed when every listener is on loopback, but ${where} is reachable from other machines; ` +
        `use --auth-mode token (and 'hindsight token create') or listen on 127.0.0.1`,
    );
  }
  return configured;
}

/** TLS needs both files; a client CA needs TLS. */
export function checkTlsSettings(cfg: { tlsCert: string | null; tlsKey: string | null; tlsClientCa: string | null }): void {
  if ((cfg.tlsCert === null) !== (cfg.tlsKey === null)) throw new ConfigError("--tls-cert and --tls-key go together: give both or neither");
  if (cfg.tlsClientCa !== null && cfg.tlsCert === null) throw new ConfigError("--tls-client-ca needs --tls-cert and --tls-key");
}
