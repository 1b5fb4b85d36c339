/**
 * `hindsight ready [--timeout 30s] [--url URL]`: waits until GET /readyz on
 * the configured REST address answers 200, then exits 0 (1 on timeout). The
 * systemd unit runs it as ExecStartPost, so "started" means "takes writes";
 * scripts can use it the same way after starting the service.
 */
import { loadConfig, parseDuration } from "../config/config.ts";
import { parseCommand } from "./args.ts";
import { USAGE } from "./usage.ts";

/** The address a client dials for a listen address (a wildcard means this machine). */
export function readyUrl(httpListen: string): string {
  const i = httpListen.lastIndexOf(":");
  const port = httpListen.slice(i + 1);
  const hostname = httpListen.slice(0, i).replace(/^\[(.*)\]$/, "$1");
  const host = hostname === "0.0.0.0" || hostname === "" ? "127.0.0.1" : hostname === "::" ? "::1" : hostname;
  return `http://${host.includes(":") ? `[${host}]` : host}:${port}/readyz`;
}

export async function ready(args: string[]): Promise<number> {
  const { values } = parseCommand("ready", args, { timeout: { type: "string" }, url: { type: "string" } });
  if (values.help) {
    process.stdout.write(USAGE());
    return 0;
  }
  const flags: Record<string, string> = {};
  if (typeof values.config === "string") flags.config = values.config;
  const cfg = loadConfig(flags, process.env);
  const timeoutMs = typeof values.timeout === "string" ? parseDuration(values.timeout, "--timeout") : 30_000;
  const url = typeof values.url === "string" ? values.url : readyUrl(cfg.httpListen);
  const deadline = Date.now() + timeoutMs;
  let last = "no answer";
  while (Date.now() < deadline) {
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
      const body = await r.text();
      if (r.status === 200) {
        process.stdout.write(`ready: ${url}\n`);
        return 0;
      }
      last = `${r.status} ${body.slice(0, 300)}`;
    } catch (e) {
      last = (e as Error).message;
    }
    await Bun.sleep(100);
  }
  process.stderr.write(`hindsight ready: ${url} not ready after ${timeoutMs / 1000}s (${last})\n`);
  return 1;
}
