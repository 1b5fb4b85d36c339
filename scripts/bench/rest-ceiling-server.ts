/**
 * The REST ceiling: a bare Bun.serve that answers each benchmarked URL with
 * the exact bytes (and content type) Hindsight answered it with, read from a
 * JSON file of { path: base64 body }. No routing library, no database, no
 * encoding: what the HTTP stack alone costs to move the same answers.
 * Prints {"port":N} on stdout once listening.
 *
 *   bun scripts/bench/rest-ceiling-server.ts --bodies bodies.json
 */
import { readFileSync } from "node:fs";
import { argMap } from "./lib.ts";

const a = argMap(process.argv.slice(2));
const bodies = new Map<string, Uint8Array>();
for (const [path, b64] of Object.entries(JSON.parse(readFileSync(a.bodies!, "utf8")) as Record<string, string>)) {
  bodies.set(path, Buffer.from(b64, "base64"));
}
const server = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  fetch(req) {
    const u = req.url;
    const body = bodies.get(u.slice(u.indexOf("/", 8)));
    return body ? new Response(body, { headers: { "content-type": "application/json" } }) : new Response("{}", { status: 404 });
  },
});
console.log(JSON.stringify({ port: server.port }));
process.on("SIGTERM", () => {
  server.stop(true);
  process.exit(0);
});
