/**
 * Pods and their container logs for the fake Kubernetes API server, served
 * as the kubelet serves them through the apiserver:
 *
 *   GET /api/v1/namespaces/<ns>/pods/<pod>/log?container=&follow=&timestamps=&sinceTime=
 *
 * Each line carries an RFC 3339 timestamp with nanoseconds (trailing zeros
 * trimmed, as the kubelet writes them); `timestamps=true` prefixes it to the
 * line; `sinceTime` (whole seconds, inclusive) skips older lines; `follow`
 * keeps the response open and writes lines as they are appended, until the
 * container terminates, the pod is deleted or the connection is dropped.
 * Errors are the apiserver's: 404 for a missing pod, 400 for a missing or
 * ambiguous container and for a container still waiting to start.
 *
 * Lines are kept in blocks (one appended text, one timestamp), both with and
 * without the timestamp prefix, so a 200 MB log is served at memory speed.
 */
import type http from "node:http";

export type ContainerState = "waiting" | "running" | "terminated";

interface Block {
  /** Unix ms of the block's lines (for sinceTime). */
  ms: number;
  plain: Buffer;
  stamped: Buffer;
}

interface ContainerLog {
  state: ContainerState;
  blocks: Block[];
  followers: Set<Follower>;
}

interface Follower {
  res: http.ServerResponse;
  stamped: boolean;
  /** Writes waiting for 'drain'. */
  queue: Buffer[];
  draining: boolean;
}

interface Pod {
  containers: Map<string, ContainerLog>;
}

/** RFC 3339 with nanoseconds, trailing zeros trimmed (Go's RFC3339Nano). */
export function rfc3339Nano(ms: number, extraNanos = 0): string {
  const iso = new Date(ms).toISOString(); // 2026-11-26T10:00:00.123Z
  const nanos = (ms % 1000) * 1_000_000 + extraNanos;
  const frac = String(nanos).padStart(9, "0").replace(/0+$/, "");
  return `${iso.slice(0, 19)}${frac ? `.${frac}` : ""}Z`;
}

function stampLines(text: Buffer, ts: string): Buffer {
  const prefix = Buffer.from(`${ts} `);
  const parts: Buffer[] = [];
  let from = 0;
  while (from < text.length) {
    let nl = text.indexOf(10, from);
    if (nl === -1) nl = text.length - 1;
    parts.push(prefix, text.subarray(from, nl + 1));
    from = nl + 1;
  }
  return Buffer.concat(parts);
}

export class FakePodLogs {
  private readonly pods = new Map<string, Pod>();
  private nanoCounter = 0;
  /** Log requests answered, by "ns/pod/container" (follow or not). */
  readonly requests = new Map<string, number>();
  /** Clock for timestamps; tests may move it. */
  now: () => number = () => Date.now();

  /** Creates a pod whose containers all start waiting. */
  addPod(ns: string, pod: string, containers: string[]): void {
    const p: Pod = { containers: new Map() };
    for (const c of containers) p.containers.set(c, { state: "waiting", blocks: [], followers: new Set() });
    this.pods.set(`${ns}/${pod}`, p);
  }

  private container(ns: string, pod: string, container: string): ContainerLog {
    const c = this.pods.get(`${ns}/${pod}`)?.containers.get(container);
    if (!c) throw new Error(`fake: no container ${container} in pod ${ns}/${pod}`);
    return c;
  }

  setState(ns: string, pod: string, container: string, state: ContainerState): void {
    const c = this.container(ns, pod, container);
    c.state = state;
    if (state === "terminated") for (const f of c.followers) this.endFollower(c, f);
  }

  /**
   * Appends lines (text should end with "\n") with one timestamp; starts the
   * container if it was waiting. Each append gets a distinct nanosecond, and
   * several appends may share a second (what sinceTime has to cope with).
   */
  append(ns: string, pod: string, container: string, text: string | Buffer, atMs?: number): void {
    const c = this.container(ns, pod, container);
    if (c.state === "waiting") c.state = "running";
    const ms = atMs ?? this.now();
    const ts = rfc3339Nano(ms, (this.nanoCounter = (this.nanoCounter + 1) % 1_000_000));
    const plain = Buffer.isBuffer(text) ? text : Buffer.from(text);
    const block: Block = { ms, plain, stamped: stampLines(plain, ts) };
    c.blocks.push(block);
    for (const f of c.followers) this.write(f, f.stamped ? block.stamped : block.plain);
  }

  /** Deletes a pod: its followers' streams end, later requests get 404. */
  deletePod(ns: string, pod: string): void {
    const p = this.pods.get(`${ns}/${pod}`);
    if (!p) return;
    this.pods.delete(`${ns}/${pod}`);
    for (const c of p.containers.values()) for (const f of c.followers) f.res.destroy();
  }

  /** Cuts every follow stream (a network blip); containers keep running. */
  dropFollowers(): void {
    for (const p of this.pods.values()) for (const c of p.containers.values()) for (const f of c.followers) f.res.destroy();
  }

  /** The whole log of a container as the container wrote it. */
  text(ns: string, pod: string, container: string): Buffer {
    return Buffer.concat(this.container(ns, pod, container).blocks.map((b) => b.plain));
  }

  followers(): number {
    let n = 0;
    for (const p of this.pods.values()) for (const c of p.containers.values()) n += c.followers.size;
    return n;
  }

  closeAll(): void {
    for (const p of this.pods.values()) for (const c of p.containers.values()) for (const f of c.followers) f.res.destroy();
  }

  private write(f: Follower, b: Buffer): void {
    if (f.draining) {
      f.queue.push(b);
      return;
    }
    if (!f.res.write(b)) {
      f.draining = true;
      f.res.once("drain", () => {
        f.draining = false;
        const q = f.queue.splice(0);
        for (const x of q) this.write(f, x);
        if (f.queue.length === 0 && (f as Follower & { ending?: boolean }).ending) f.res.end();
      });
    }
  }

  private endFollower(c: ContainerLog, f: Follower): void {
    c.followers.delete(f);
    if (f.draining) (f as Follower & { ending?: boolean }).ending = true;
    else f.res.end();
  }

  /**
   * Answers a log request. `reply` sends an apiserver error Status. Initial
   * content is written with back-pressure (a 200 MB log is not buffered).
   */
  async serve(
    ns: string,
    pod: string,
    url: URL,
    res: http.ServerResponse,
    reply: (code: number, reason: string, message: string) => void,
  ): Promise<void> {
    const p = this.pods.get(`${ns}/${pod}`);
    if (!p) return reply(404, "NotFound", `pods "${pod}" not found`);
    let name = url.searchParams.get("container") ?? "";
    if (name === "") {
      if (p.containers.size !== 1) return reply(400, "BadRequest", `a container name must be specified for pod ${pod}, choose one of: [${[...p.containers.keys()].join(" ")}]`);
      name = [...p.containers.keys()][0]!;
    }
    const c = p.containers.get(name);
    if (!c) return reply(400, "BadRequest", `container ${name} is not valid for pod ${pod}`);
    if (c.state === "waiting") return reply(400, "BadRequest", `container "${name}" in pod "${pod}" is waiting to start: PodInitializing`);
    const key = `${ns}/${pod}/${name}`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
    const stamped = url.searchParams.get("timestamps") === "true";
    const follow = url.searchParams.get("follow") === "true";
    const since = url.searchParams.get("sinceTime");
    const sinceMs = since ? Math.floor(Date.parse(since) / 1000) * 1000 : -Infinity;
    res.writeHead(200, { "content-type": "text/plain", "transfer-encoding": "chunked" });
    res.flushHeaders();
    // Existing blocks, with back-pressure; blocks appended meanwhile are picked up by index.
    let i = 0;
    while (i < c.blocks.length) {
      const b = c.blocks[i++]!;
      if (b.ms < sinceMs) continue;
      if (!res.write(stamped ? b.stamped : b.plain)) {
        const ok = await new Promise<boolean>((resolve) => {
          const done = (v: boolean) => () => {
            res.off("drain", onDrain);
            res.off("close", onClose);
            resolve(v);
          };
          const onDrain = done(true);
          const onClose = done(false);
          res.once("drain", onDrain);
          res.once("close", onClose);
        });
        if (!ok) return;
      }
    }
    if (!follow || c.state === "terminated" || !this.pods.has(`${ns}/${pod}`)) return void res.end();
    const f: Follower = { res, stamped, queue: [], draining: false };
    c.followers.add(f);
    res.on("close", () => c.followers.delete(f));
  }
}
