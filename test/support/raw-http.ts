/**
 * A raw HTTP/1.1 request over a TCP socket, for what fetch refuses or
 * rewrites: a GET with a body (the tkn-results CLI sends one), a request
 * target kept byte for byte (`..`, `%2F`), a body that is not UTF-8. One
 * request per connection (`Connection: close`).
 */
import { connect } from "node:net";

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export function rawRequest(
  base: string,
  method: string,
  target: string,
  opts: { headers?: Record<string, string>; body?: string | Uint8Array; timeoutMs?: number } = {},
): Promise<RawResponse> {
  const { hostname, port } = new URL(base);
  const body = typeof opts.body === "string" ? Buffer.from(opts.body) : opts.body ? Buffer.from(opts.body) : null;
  const head = [`${method} ${target} HTTP/1.1`, `Host: ${hostname}:${port}`, "Connection: close"];
  for (const [k, v] of Object.entries(opts.headers ?? {})) head.push(`${k}: ${v}`);
  if (body) head.push(`Content-Length: ${body.length}`);
  return new Promise((resolve, reject) => {
    const sock = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no complete answer to ${method} ${target.slice(0, 80)}`));
    }, opts.timeoutMs ?? 10_000);
    sock.on("connect", () => {
      sock.write(head.join("\r\n") + "\r\n\r\n");
      if (body) sock.write(body);
    });
    sock.on("data", (c: Buffer) => chunks.push(c));
    sock.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    sock.on("close", () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString("utf8");
      const split = text.indexOf("\r\n\r\n");
      const lines = text.slice(0, split).split("\r\n");
      const headers: Record<string, string> = {};
      for (const l of lines.slice(1)) {
        const i = l.indexOf(":");
        headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      let rest = text.slice(split + 4);
      if (headers["transfer-encoding"] === "chunked") {
        let out = "";
        for (;;) {
          const nl = rest.indexOf("\r\n");
          const size = parseInt(rest.slice(0, nl), 16);
          if (!size) break;
          out += rest.slice(nl + 2, nl + 2 + size);
          rest = rest.slice(nl + 2 + size + 2);
        }
        rest = out;
      }
      resolve({ status: Number(lines[0]!.split(" ")[1]), headers, body: rest });
    });
  });
}
