/**
 * A deadline for reading each unary request. grpc-js has no such setting:
 * a client that opens a stream and then sends its request a byte at a time
 * holds the stream (and the connection, which is never idle while a stream
 * is open) for as long as it likes. Here every new HTTP/2 stream gets a
 * timer that its request's end clears; past the deadline the stream is
 * reset (the client sees CANCELLED) and logged.
 *
 * Client-streaming methods (UpdateLog) are exempt: an upload legitimately
 * arrives over time, and those calls need the writer role.
 *
 * grpc-js keeps its HTTP/2 servers in a private map; reaching into it is the
 * price of not forking grpc-js. If a grpc-js update moves it, start-up fails
 * loudly (see `attachReadDeadline`) rather than silently losing the guard,
 * and test/slow-clients.test.ts fails too.
 */
import type { EventEmitter } from "node:events";
import { constants, type IncomingHttpHeaders, type ServerHttp2Stream } from "node:http2";
import type * as grpc from "@grpc/grpc-js";
import { log } from "../../log.ts";

export function attachReadDeadline(server: grpc.Server, ms: number, exempt: (path: string) => boolean): void {
  const servers = (server as unknown as { http2Servers?: Map<EventEmitter, unknown> }).http2Servers;
  if (!(servers instanceof Map) || servers.size === 0) throw new Error("grpc-js: no HTTP/2 server to guard (its internals changed?)");
  for (const h2 of servers.keys()) {
    h2.on("stream", (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
      const path = typeof headers[":path"] === "string" ? headers[":path"] : "";
      // A request that came whole with its headers (END_STREAM) has nothing left to read.
      if (exempt(path) || stream.readableEnded || (stream as unknown as { endAfterHeaders?: boolean }).endAfterHeaders) return;
      const timer = setTimeout(() => {
        if (stream.destroyed || stream.closed) return;
        log.warn("gRPC request not received in time: stream reset", { method: path.slice(0, 200), timeoutMs: ms, peer: stream.session?.socket?.remoteAddress ?? "" });
        stream.close(constants.NGHTTP2_CANCEL);
      }, ms);
      timer.unref?.();
      const clear = () => clearTimeout(timer);
      stream.once("end", clear);
      stream.once("close", clear);
    });
  }
}
