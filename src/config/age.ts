/**
 * Ages for retention: "90d", "12h", "1d12h", "30m", "2w"; a bare number is
 * days, as in upstream's retention agent (`defaultRetention: "30"`), so a
 * policy copied from there keeps its meaning. "forever" keeps runs for good
 * and is returned as null. Durations elsewhere stop at hours (query
 * timeouts); retention is counted in days, so it has its own parser.
 */
import { ConfigError } from "./errors.ts";

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };

export function parseAge(raw: string, source: string): number | null {
  const s = raw.trim();
  if (s === "forever") return null;
  let ms: number;
  if (/^\d+$/.test(s)) ms = Number(s) * UNIT_MS.d!;
  else if (/^(\d+(\.\d+)?[smhdw])+$/.test(s)) {
    ms = 0;
    for (const m of s.matchAll(/(\d+(?:\.\d+)?)([smhdw])/g)) ms += Number(m[1]) * UNIT_MS[m[2]!]!;
  } else {
    throw new ConfigError(`${source}: ${JSON.stringify(raw)} is not an age (examples: 90d, 12h, 1d12h, 30m, or forever; a bare number is days)`);
  }
  if (ms < 60_000) throw new ConfigError(`${source}: ${JSON.stringify(raw)} is shorter than a minute (examples: 90d, 12h, 30m)`);
  return Math.round(ms);
}

/** The shortest text for an age in ms: 90d, 36h, 90m. */
export function formatAge(ms: number | null): string {
  if (ms === null) return "forever";
  for (const [u, n] of [["d", UNIT_MS.d!], ["h", UNIT_MS.h!], ["m", UNIT_MS.m!]] as const) {
    if (ms % n === 0) return `${ms / n}${u}`;
  }
  return `${Math.round(ms / 1000)}s`;
}
