/**
 * `matches()` and time zones need functions SQLite does not have; they are
 * registered on every connection that runs filters. Patterns follow RE2, the
 * dialect CEL specifies: constructs RE2 lacks (lookaround, backreferences)
 * are refused at compile time instead of silently meaning something else,
 * and RE2's leading `(?i)`/`(?s)`/`(?m)` flags are honoured.
 */
import type { Database } from "bun:sqlite";
import { invalidArgument } from "../../core/errors.ts";

const cache = new Map<string, RegExp>();

/** Validates an RE2 pattern; returns the form stored in the query ("flags/source"). */
export function checkRegex(pattern: string, column: number): string {
  if (/\(\?<?[=!]|\\[1-9]|\\k</.test(pattern)) {
    throw invalidArgument(`filter: regular expression at column ${column} uses lookaround or backreferences, which RE2 does not support`);
  }
  let flags = "u";
  let source = pattern;
  const m = /^\(\?([ims]+)\)/.exec(source);
  if (m) {
    flags += m[1]!.includes("i") ? "i" : "";
    flags += m[1]!.includes("s") ? "s" : "";
    flags += m[1]!.includes("m") ? "m" : "";
    source = source.slice(m[0].length);
  }
  try {
    new RegExp(source, flags);
  } catch (e) {
    throw invalidArgument(`filter: invalid regular expression at column ${column}: ${(e as Error).message}`);
  }
  return `${flags}/${source}`;
}

function compiled(stored: string): RegExp {
  let re = cache.get(stored);
  if (!re) {
    const slash = stored.indexOf("/");
    re = new RegExp(stored.slice(slash + 1), stored.slice(0, slash));
    if (cache.size > 256) cache.clear();
    cache.set(stored, re);
  }
  return re;
}

const offsetFormatters = new Map<string, Intl.DateTimeFormat>();

/** Offset of time zone `tz` from UTC at `micros`, in seconds. */
export function tzOffsetSeconds(micros: number, tz: string): number {
  let f = offsetFormatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: tz,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    offsetFormatters.set(tz, f);
  }
  const ms = Math.floor(micros / 1000);
  const parts = Object.fromEntries(f.formatToParts(new Date(ms)).map((p) => [p.type, p.value]));
  const local = Date.UTC(+parts.year!, +parts.month! - 1, +parts.day!, +parts.hour!, +parts.minute!, +parts.second!);
  return Math.round((local - (ms - (ms % 1000))) / 1000);
}

/** Registers hs_regexp(pattern, text), hs_utf8_length(blob) and hs_tz_offset(micros, tz) on a connection. */
export function registerFilterFunctions(db: Database): void {
  const d = db as unknown as { function?: (name: string, fn: (...a: unknown[]) => unknown) => void };
  if (typeof d.function !== "function") throw new Error("this Bun has no Database.function(); filters need it");
  d.function("hs_regexp", (pattern: unknown, text: unknown) =>
    typeof text !== "string" || typeof pattern !== "string" ? null : compiled(pattern).test(text) ? 1 : 0,
  );
  d.function("hs_utf8_length", (bytes: unknown) => {
    if (!(bytes instanceof Uint8Array)) return null;
    let n = 0;
    for (const b of bytes) if ((b & 0xc0) !== 0x80) n++;
    return n;
  });
  d.function("hs_tz_offset", (micros: unknown, tz: unknown) =>
    typeof micros !== "number" && typeof micros !== "bigint" ? null : tzOffsetSeconds(Number(micros), String(tz)),
  );
}
