/**
 * CEL filter front end: parse, type-check and normalise a filter in its
 * environment. The result is what both back ends use: the SQL translator in
 * src/store/filter and the in-memory evaluator. Normalisation is a rewrite of
 * the source text, so the normalised filter is itself CEL that any CEL
 * implementation evaluates with the same meaning:
 *
 * - a dynamic `data` value meeting a timestamp (compared with one, subtracted
 *   from one, or asked for getHours() and friends) is parsed as a timestamp:
 *   `data.status.completionTime > timestamp("…")` becomes
 *   `timestamp(data.status.completionTime) > timestamp("…")`, and
 *   `data.a - data.b > duration("10m")` subtracts two timestamps;
 * - timestamp literals in the forms upstream accepts through Postgres
 *   (`"2022/10/30T21:45:00.000Z"`) are rewritten to RFC 3339;
 * - `m["k"] == "v"` on the maps upstream tests by JSON containment
 *   (`annotations`, `summary.annotations`, a top-level key of `data`) becomes
 *   `("k" in m && m["k"] == "v")`: false, not an error, when the key is
 *   missing, so `!(annotations["k"] == "v")` keeps results without "k", as
 *   upstream's `NOT (annotations @> '{"k":"v"}')` does.
 */
import type { ASTNode } from "@marcbachmann/cel-js";
import { invalidArgument } from "../errors.ts";
import { environment, type FilterTarget } from "./env.ts";

export interface CompiledFilter {
  target: FilterTarget;
  /** The filter as given (trimmed). */
  source: string;
  /** The normalised CEL text; equal to `source` when nothing was rewritten. */
  normalized: string;
  /** Type-checked AST of `normalized`. */
  ast: ASTNode;
}

export const MAX_FILTER_LENGTH = 16 * 1024;

/** Turns a cel-js error (message with a caret excerpt) into a positioned INVALID_ARGUMENT. */
function celError(err: { message?: string } | undefined, what = "invalid filter"): Error {
  const msg = err?.message ?? "invalid expression";
  const lines = msg.split("\n");
  const reason = lines[0]!.trim();
  const at = lines.findIndex((l) => /^>\s+\d+ \| /.test(l));
  let where = "";
  if (at >= 0 && lines[at + 1] !== undefined) {
    const m = /^>\s+(\d+) \| /.exec(lines[at]!)!;
    const caret = lines[at + 1]!.indexOf("^");
    if (caret >= 0) where = ` at line ${m[1]}, column ${caret - m[0].length + 1}`;
  }
  return invalidArgument(`filter: ${what}: ${reason}${where}`);
}

const TIMESTAMP = "google.protobuf.Timestamp";
const DURATION = "google.protobuf.Duration";
const ACCESSORS = new Set([
  "getFullYear",
  "getMonth",
  "getDate",
  "getDayOfMonth",
  "getDayOfWeek",
  "getDayOfYear",
  "getHours",
  "getMinutes",
  "getSeconds",
  "getMilliseconds",
]);
const COMPARISONS = new Set(["==", "!=", "<", "<=", ">", ">="]);

const typeOf = (n: unknown): string | undefined => (n as { checkedType?: { name?: string } }).checkedType?.name;
const isNode = (n: unknown): n is ASTNode => typeof n === "object" && n !== null && "op" in n && "start" in n;

interface Edit {
  start: number;
  end: number;
  text: string;
}

/** Postgres-style timestamp text upstream accepts, as RFC 3339; null if unparseable. */
export function normalizeTimestampText(s: string): string | null {
  const m =
    /^(\d{4})[-/](\d{2})[-/](\d{2})[T ](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})?$/i.exec(s.trim());
  if (!m) return null;
  const [, y, mo, d, h, mi, se, frac, zone] = m;
  const z = !zone || zone.toUpperCase() === "Z" ? "Z" : zone.length === 5 ? `${zone.slice(0, 3)}:${zone.slice(3)}` : zone;
  const text = `${y}-${mo}-${d}T${h}:${mi}:${se}${frac ?? ""}${z}`;
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) return null;
  // Reject dates that Date.parse silently rolls over (2023-02-30).
  const back = new Date(ms - (z === "Z" ? 0 : 0));
  if (z === "Z" && (back.getUTCDate() !== Number(d) || back.getUTCMonth() + 1 !== Number(mo))) return null;
  return text;
}

/** The maps whose `m["k"] == "v"` upstream translates to JSON containment. */
function containmentMap(m: ASTNode): boolean {
  if (m.op === "id") return m.args === "annotations" || m.args === "data";
  if (m.op === ".") {
    const [target, field] = m.args as [ASTNode, string];
    return field === "annotations" && target.op === "id" && target.args === "summary";
  }
  return false;
}

function collectEdits(root: ASTNode, src: string): Edit[] {
  const edits: Edit[] = [];
  const wrap = (n: ASTNode) => {
    if (typeOf(n) === "dyn") {
      edits.push({ start: n.start, end: n.start, text: "timestamp(" }, { start: n.end, end: n.end, text: ")" });
    }
  };
  const visit = (n: unknown): void => {
    if (Array.isArray(n)) return n.forEach(visit);
    if (!isNode(n)) return;
    const a = n.args as unknown;
    if (COMPARISONS.has(n.op) && Array.isArray(a) && a.length === 2) {
      const [l, r] = a as [ASTNode, ASTNode];
      const lt = typeOf(l);
      const rt = typeOf(r);
      if (lt === TIMESTAMP) wrap(r);
      if (rt === TIMESTAMP) wrap(l);
      // data.a - data.b compared with a duration: both are timestamps.
      for (const [side, other] of [
        [l, rt],
        [r, lt],
      ] as const) {
        if (other === DURATION && side.op === "-" && Array.isArray(side.args)) (side.args as ASTNode[]).forEach(wrap);
      }
    }
    if (n.op === "==" && Array.isArray(a) && a.length === 2) {
      const [l, r] = a as [ASTNode, ASTNode];
      for (const [side, other] of [
        [l, r],
        [r, l],
      ] as const) {
        if (side.op !== "[]" || other.op !== "value" || typeof other.args !== "string") continue;
        const [map, key] = side.args as [ASTNode, ASTNode];
        if (key.op !== "value" || typeof key.args !== "string" || !containmentMap(map)) continue;
        const m = src.slice(map.start, map.end);
        edits.push({ start: n.start, end: n.start, text: `(${JSON.stringify(key.args)} in ${m} && ` }, { start: n.end, end: n.end, text: ")" });
        break;
      }
    }
    if ((n.op === "-" || n.op === "+") && Array.isArray(a) && a.length === 2) {
      const [l, r] = a as [ASTNode, ASTNode];
      if (typeOf(l) === TIMESTAMP || typeOf(l) === DURATION) wrap(r);
      if (typeOf(r) === TIMESTAMP || typeOf(r) === DURATION) wrap(l);
    }
    if (n.op === "rcall" && Array.isArray(a) && ACCESSORS.has(a[0] as string)) wrap(a[1] as ASTNode);
    if (n.op === "call" && Array.isArray(a) && a[0] === "timestamp") {
      const arg = (a[1] as ASTNode[])[0];
      if (arg && arg.op === "value" && typeof arg.args === "string") {
        const norm = normalizeTimestampText(arg.args);
        if (norm === null) {
          throw invalidArgument(
            `filter: invalid timestamp ${JSON.stringify(arg.args)} at column ${arg.start + 1}: use RFC 3339, e.g. "2024-01-31T12:00:00Z"`,
          );
        }
        if (norm !== arg.args) edits.push({ start: arg.start, end: arg.end, text: JSON.stringify(norm) });
      }
    }
    if (n.op === "call" && Array.isArray(a) && a[0] === "duration") {
      const arg = (a[1] as ASTNode[])[0];
      if (arg && arg.op === "value" && typeof arg.args === "string" && parseDurationMicros(arg.args) === null) {
        throw invalidArgument(
          `filter: invalid duration ${JSON.stringify(arg.args)} at column ${arg.start + 1}: use e.g. "90s", "10m", "1h30m"`,
        );
      }
    }
    if (Array.isArray(a)) a.forEach(visit);
    else visit(a);
  };
  visit(root);
  return edits;
}

function applyEdits(src: string, edits: Edit[]): string {
  // Stable: insertions at the same offset keep their discovery order, and a
  // closing ")" sorts before an opening "timestamp(" at the same offset.
  const sorted = edits
    .map((e, i) => ({ ...e, i }))
    .sort((x, y) => x.start - y.start || (x.text === ")" ? -1 : y.text === ")" ? 1 : x.i - y.i));
  let out = "";
  let pos = 0;
  for (const e of sorted) {
    out += src.slice(pos, e.start) + e.text;
    pos = e.end;
  }
  return out + src.slice(pos);
}

/** CEL duration text ("1h30m", "1.5s", "-10m") in microseconds; null if invalid. */
export function parseDurationMicros(s: string): number | null {
  const m = /^(-)?((?:\d+(?:\.\d+)?(?:h|m|s|ms|us|µs|ns))+)$/.exec(s);
  if (!m) return null;
  const unit: Record<string, number> = { h: 3.6e9, m: 6e7, s: 1e6, ms: 1e3, us: 1, µs: 1, ns: 1e-3 };
  let total = 0;
  for (const part of m[2]!.matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)/g)) total += Number(part[1]) * unit[part[2]!]!;
  return Math.round(m[1] ? -total : total);
}

export function compileFilter(target: FilterTarget, filter: string): CompiledFilter | null {
  const source = filter.trim();
  if (source === "") return null;
  if (source.length > MAX_FILTER_LENGTH) {
    throw invalidArgument(`filter: longer than ${MAX_FILTER_LENGTH} characters`);
  }
  const env = environment(target);
  const check = (text: string) => {
    let parsed;
    try {
      parsed = env.parse(text);
    } catch (e) {
      throw celError(e as Error, "syntax error");
    }
    const res = parsed.check();
    if (!res.valid) throw celError(res.error);
    if (res.type !== "bool") throw invalidArgument(`filter: expected boolean expression, but got ${res.type}`);
    return parsed.ast;
  };
  const first = check(source);
  const edits = collectEdits(first, source);
  if (edits.length === 0) return { target, source, normalized: source, ast: first };
  const normalized = applyEdits(source, edits);
  return { target, source, normalized, ast: check(normalized) };
}
