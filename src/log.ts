/**
 * Structured log lines on stderr, one JSON object each (or logfmt, by
 * config), for journald and whatever reads it. Kept tiny on purpose: level,
 * message, fields.
 */
type Level = "debug" | "info" | "warn" | "error";
const order: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

let threshold: number = order[(process.env.HINDSIGHT_LOG_LEVEL as Level) ?? "info"] ?? order.info;

export function setLogLevel(level: Level): void {
  threshold = order[level];
}

let format: "json" | "logfmt" = process.env.HINDSIGHT_LOG_FORMAT === "logfmt" ? "logfmt" : "json";

/** logfmt reads better in `journalctl`; JSON parses better. Switched by config (and SIGHUP). */
export function setLogFormat(f: "json" | "logfmt"): void {
  format = f;
}

/** key=value pairs; values quoted when they hold spaces, quotes or '='; lists comma-separated; objects as JSON. */
export function logfmt(line: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(line)) {
    if (v === undefined) continue;
    const text = typeof v === "string" ? v : Array.isArray(v) && v.every((x) => typeof x !== "object") ? v.join(",") : JSON.stringify(v);
    parts.push(`${k}=${text === "" || /[\s"=\\]/.test(text) ? JSON.stringify(text) : text}`);
  }
  return parts.join(" ");
}

function emit(level: Level, msg: string, fields?: Record<string, unknown>): void {
  if (order[level] < threshold) return;
  const line: Record<string, unknown> = { time: new Date().toISOString(), level, msg, ...fields };
  for (const [k, v] of Object.entries(line)) {
    if (v instanceof Error) line[k] = { message: v.message, stack: v.stack, cause: describeCause(v.cause) };
  }
  process.stderr.write((format === "logfmt" ? logfmt(line) : JSON.stringify(line)) + "\n");
}

function describeCause(c: unknown): unknown {
  return c instanceof Error ? { message: c.message, code: (c as { code?: unknown }).code } : c;
}

export const log = {
  debug: (msg: string, f?: Record<string, unknown>) => emit("debug", msg, f),
  info: (msg: string, f?: Record<string, unknown>) => emit("info", msg, f),
  warn: (msg: string, f?: Record<string, unknown>) => emit("warn", msg, f),
  error: (msg: string, f?: Record<string, unknown>) => emit("error", msg, f),
};
