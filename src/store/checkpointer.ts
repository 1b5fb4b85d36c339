/**
 * Starts and stops the background WAL checkpointer (checkpoint-worker.ts).
 * The writer's connection then runs with wal_autocheckpoint = 0, so no
 * request ever waits for a checkpoint.
 */
import { workerUrl } from "./worker-url.ts";

export class Checkpointer {
  private readonly worker: Worker;
  private readonly ready: Promise<void>;

  /** `maxWalPages` defaults to 64 MiB of 4 KiB pages. */
  constructor(path: string, intervalMs = 200, maxWalPages = 16384) {
    this.worker = new Worker(workerUrl("checkpoint-worker.ts"));
    this.ready = new Promise((resolve, reject) => {
      this.worker.onmessage = (ev) => ev.data === "started" && resolve();
      this.worker.onerror = (e) => reject(new Error(`the WAL checkpointer did not start: ${e.message}`));
    });
    this.worker.postMessage({ path, intervalMs, maxWalPages });
  }

  started(): Promise<void> {
    return this.ready;
  }

  async stop(): Promise<void> {
    await this.ready.catch(() => undefined);
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 2000);
      this.worker.onmessage = (ev) => {
        if (ev.data === "stopped") {
          clearTimeout(t);
          resolve();
        }
      };
      this.worker.postMessage("stop");
    });
    this.worker.terminate();
  }
}
