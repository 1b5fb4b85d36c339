/**
 * The REST listener: Bun.serve (HTTP/1.1) running the Elysia app of
 * rest-app.ts. Bun's own body limit is set far above the configured one, so
 * an oversized body reaches the app and gets the API's JSON 413 instead of
 * Bun's empty one. Shutdown stops accepting, lets requests in flight finish
 * (bounded by a deadline) and then closes what is left.
 */
import type { Server } from "bun";
import { buildRestApp, type RestAppOptions } from "./rest-app.ts";
import type { TlsReloader } from "../../tls/reloader.ts";
import type { RequestMetrics } from "../../metrics/requests.ts";
import { clientHost } from "../../core/client-limit.ts";
import type { TlsMaterial } from "../../tls/files.ts";

export interface RestServerOptions extends RestAppOptions {
  /** "HOST:PORT"; port 0 picks a free port. */
  listen: string;
  /** Serve HTTPS from these; absent: plain HTTP. */
  tls?: TlsReloader;
  /** Bun's idleTimeout, in ms (rounded to whole seconds, 1-255); default 10 s. */
  idleTimeoutMs?: number;
  /** Counts and times every request; absent: not measured. */
  requestMetrics?: RequestMetrics;
}

/** Bun's TLS options for the current material (Bun's minimum is TLS 1.2). */
function bunTls(m: TlsMaterial) {
  return m.clientCa === null ? { cert: m.cert, key: m.key } : { cert: m.cert, key: m.key, ca: m.clientCa, requestCert: true, rejectUnauthorized: true };
}

export interface RunningRestServer {
  port: number;
  /** Graceful stop; forces after `graceMs`. */
  shutdown(graceMs?: number): Promise<void>;
}

/** Splits "HOST:PORT" and "[::1]:PORT". */
export function splitListen(listen: string): { hostname: string; port: number } {
  const i = listen.lastIndexOf(":");
  const host = listen.slice(0, i);
  return { hostname: host.startsWith("[") ? host.slice(1, -1) : host, port: Number(listen.slice(i + 1)) };
}

export async function startRestServer(opts: RestServerOptions): Promise<RunningRestServer> {
  // Elysia's fetch does not get the server, so the caller's address is noted here for the app.
  const clients = new WeakMap<Request, string>();
  // The matched route template of each request, for the metrics' method label.
  const routes = new WeakMap<Request, string>();
  const metrics = opts.requestMetrics;
  const app = buildRestApp({ ...opts, clientOf: (r) => clients.get(r) ?? "", ...(metrics ? { onRoute: (r: Request, route: string) => routes.set(r, route) } : {}) });
  const fetch = async (req: Request, srv: Server<undefined>) => {
    const t0 = performance.now();
    clients.set(req, clientHost(srv.requestIP(req)?.address ?? ""));
    const res = await app.fetch(req);
    if (metrics) {
      const route = routes.get(req);
      metrics.observe("rest", route ? `${req.method} ${route}` : "other", String(res.status), (performance.now() - t0) / 1000);
    }
    return res;
  };
  const { hostname, port } = splitListen(opts.listen);
  const tls = opts.tls;
  const serve = (p: number): Server<undefined> =>
    Bun.serve({
      hostname,
      port: p,
      fetch,
      // Over the configured limit by a margin: the app answers those itself.
      maxRequestBodySize: Math.max(opts.maxBodyBytes * 2, opts.maxBodyBytes + 1024 * 1024),
      development: false,
      // Measured on Bun 1.4: a request body must arrive whole within this
      // (body bytes do not restart the timer), and an idle keep-alive
      // connection is closed after it. Before its headers are complete a
      // connection has Bun's own ~10 s timer instead, which every header byte
      // restarts (README, "Limits"; test/slow-clients.test.ts).
      idleTimeout: Math.max(1, Math.round((opts.idleTimeoutMs ?? 10_000) / 1000)),
      // Bun cannot change a running server's certificate: a new server takes
      // the same port beside the old one (SO_REUSEPORT, same user only), and
      // the old one stops accepting and finishes its requests.
      ...(tls ? { tls: bunTls(tls.current), reusePort: true } : {}),
    });
  let server = serve(port);
  const bound = server.port ?? port;
  const draining = new Set<Promise<void>>();
  const olds = new Set<Server<undefined>>();
  let stopped = false;
  tls?.onChange(() => {
    if (stopped) return;
    const old = server;
    server = serve(bound);
    olds.add(old);
    const d = old.stop(false).then(() => {
      draining.delete(d);
      olds.delete(old);
    });
    draining.add(d);
  });
  return {
    port: bound,
    async shutdown(graceMs = 10_000) {
      stopped = true;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const forced = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
      await Promise.race([Promise.all([server.stop(false), ...draining]), forced]);
      clearTimeout(timer);
      await Promise.all([server, ...olds].map((s) => s.stop(true)));
    },
  };
}
