/**
 * A cap on the calls one client (one remote address) has in flight, so a
 * single client cannot take every reader thread and write slot from the
 * others: past the cap its calls get RESOURCE_EXHAUSTED (HTTP 429) at once,
 * before any work, and the others are unaffected. Counted per address, not
 * per connection, because a client can open many connections.
 */
import { resourceExhausted } from "./errors.ts";

export class ClientLimiter {
  private readonly inFlight = new Map<string, number>();

  /** `max` calls in flight per client; 0 = no cap. */
  constructor(readonly max: number) {}

  /** Counts a call in; throws resource_exhausted past the cap. Returns the release (idempotent). */
  acquire(client: string): () => void {
    if (this.max <= 0 || client === "") return noop;
    const n = this.inFlight.get(client) ?? 0;
    if (n >= this.max) throw resourceExhausted(`too many concurrent calls from this client (limit ${this.max}); retry later`);
    this.inFlight.set(client, n + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const left = (this.inFlight.get(client) ?? 1) - 1;
      if (left <= 0) this.inFlight.delete(client);
      else this.inFlight.set(client, left);
    };
  }

  /** Calls in flight for a client (for tests and metrics). */
  count(client: string): number {
    return this.inFlight.get(client) ?? 0;
  }
}

const noop = () => {};

/** The client part of a gRPC peer ("ipv4:127.0.0.1:5000", "ipv6:[::1]:5000") or a socket address: the host without the port. */
export function clientHost(peer: string): string {
  const p = peer.replace(/^(ipv4|ipv6|unix):/, "");
  const m = /^\[([^\]]+)\](?::\d+)?$/.exec(p);
  if (m) return m[1]!;
  const i = p.lastIndexOf(":");
  return i > 0 && p.indexOf(":") === i ? p.slice(0, i) : p;
}
