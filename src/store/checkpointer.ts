/**
 * Starts and stops the background WAL checkpointer (checkpoint-worker.ts).
 * The writer's connection then runs with wal_autocheckpoint = 0, so no
 * request ever waits for a checkpoint.
 *
 * The thread is a JavaScript engine of its own (~10 MB and tens of
 * milliseconds to start), and a server that only answers reads never needs
 * it. So the server starts it when the WAL first grows past a threshold
 * (`startWhenWalExceeds`), checked with a stat once a second; until then
 * the WAL holds at most that much, and a clean stop checkpoints it anyway
 * when the last connection closes.
 */
import { statSync } from "node:fs";
import { log } from "../log.ts";
import { workerUrl } from "./worker-url.ts";

export class Checkpointer {
  private worker: Worker | null = null;
  private ready: Promise<void> | null = null;
  private probe: ReturnType<typeof setInterval> | null = null;

  /** `maxWalPages` defaults to 64 MiB of 4 KiB pages. */
  constructor(
    private readonly path: string,
    private readonly intervalMs = 200,
    private readonly maxWalPages = 16384,
  ) {}

  /** Whether the thread has been started. */
  get running(): boolean {
    return this.worker !== null;
  }

  /** Starts the thread (once); resolves when it has opened the database. */
  start(): Promise<void> {
    if (this.ready) return this.ready;
    const worker = new Worker(workerUrl("checkpoint-worker.ts"));
    this.worker = worker;
    this.ready = new Promise((resolve, reject) => {
      worker.onmessage = (ev) => ev.data === "started" && resolve();
      worker.onerror = (e) => reject(new Error(`the WAL checkpointer did not start: ${e.message}`));
    });
    worker.postMessage({ path: this.path, intervalMs: this.intervalMs, maxWalPages: this.maxWalPages });
    return this.ready;
  }

  /** Starts the thread once the WAL file is larger than `bytes`, checked every `everyMs`. */
  startWhenWalExceeds(bytes = 1024 * 1024, everyMs = 1000): void {
    if (this.probe || this.worker) return;
    const check = () => {
      let size = 0;
      try {
        size = statSync(`${this.path}-wal`).size;
      } catch {
        // No WAL file yet.
      }
      if (size <= bytes) return;
      this.stopProbe();
      this.start().catch((e) => log.error("WAL checkpointer failed to start; the WAL will grow until restart", { error: (e as Error).message }));
    };
    this.probe = setInterval(check, everyMs);
    this.probe.unref?.();
    check();
  }

  private stopProbe(): void {
    if (this.probe) clearInterval(this.probe);
    this.probe = null;
  }

  async stop(): Promise<void> {
    this.stopProbe();
    const worker = this.worker;
    if (!worker) return;
    await this.ready!.catch(() => undefined);
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 2000);
      worker.onmessage = (ev) => {
        if (ev.data === "stopped") {
          clearTimeout(t);
          resolve();
        }
      };
      worker.postMessage("stop");
    });
    worker.terminate();
  }
}
