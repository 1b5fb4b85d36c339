/**
 * The REST listener: Bun.serve (HTTP/1.1) running the Elysia app of
 * rest-app.ts. Bun's own body limit is set far above the configured one, so
 * an oversized body reaches the app and gets the API's JSON 413 instead of
 * Bun's empty one. Shutdown stops accepting, lets requests in flight finish
 * (bounded by a deadline) and then closes what is left.
 */
import type { Server } from "bun";
import { buildRestApp, type RestAppOptions } from "./rest-app.ts";

export interface RestServerOptions extends RestAppOptions {
  /** "HOST:PORT"; port 0 picks a free port. */
  listen: string;
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
  const app = buildRestApp(opts);
  const { hostname, port } = splitListen(opts.listen);
  const server: Server<undefined> = Bun.serve({
    hostname,
    port,
    fetch: app.fetch,
    // Over the configured limit by a margin: the app answers those itself.
    maxRequestBodySize: Math.max(opts.maxBodyBytes * 2, opts.maxBodyBytes + 1024 * 1024),
    development: false,
  });
  return {
    port: server.port ?? port,
    async shutdown(graceMs = 10_000) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const forced = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
      await Promise.race([server.stop(false), forced]);
      clearTimeout(timer);
      await server.stop(true);
    },
  };
}
