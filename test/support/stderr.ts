/**
 * Reads what an in-process server logs: tees process.stderr (still written
 * through) into `text`, so a test can find its structured log lines.
 */
export class StderrCapture {
  private chunks: string[] = [];
  private readonly real = process.stderr.write.bind(process.stderr);

  start(): this {
    process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      this.chunks.push(String(chunk));
      return (this.real as (...a: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof process.stderr.write;
    return this;
  }

  stop(): void {
    process.stderr.write = this.real;
  }

  /** Forgets what was captured so far. */
  clear(): void {
    this.chunks = [];
  }

  /** Everything captured since the start or the last clear. */
  get text(): string {
    return this.chunks.join("");
  }

  /** The captured JSON log lines whose msg is `msg` (e.g. "audit"). */
  logLines(msg: string): Array<Record<string, string>> {
    const marker = `"msg":${JSON.stringify(msg)}`;
    return this.text
      .split("\n")
      .filter((l) => l.includes(marker))
      .map((l) => JSON.parse(l) as Record<string, string>);
  }
}
