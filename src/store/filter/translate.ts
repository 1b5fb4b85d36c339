/**
 * CEL filter -> SQLite WHERE fragment.
 *
 * The fragment means exactly what the (normalised) CEL expression means when
 * evaluated on the row, with CEL's error semantics mapped onto SQL's
 * three-valued logic: SQL NULL stands for a CEL error, so `&&`, `||`, `!` and
 * `?:` combine like CEL does (false && error = false, true || error = true).
 * A row is selected only when the fragment is 1, as CEL selects only `true`.
 * The differential test (src/store/filter/differential.test.ts) checks this
 * against in-memory CEL on real-shaped runs.
 *
 * Two things keep it fast:
 * - Polarity. Under `&&`/`||` from the root, "false" and "error" both mean
 *   "not selected", so a comparison can be emitted bare (`g_namespace = ?1`),
 *   which lets SQLite use indexes. Below `!` or in a `?:` condition the exact
 *   form (with presence and type checks) is emitted.
 * - Indexed fields. A JSON path with a generated column (see columns.ts) is
 *   read from that column, so the planner can use its index.
 *
 * Every literal is bound through Params; JSON keys and paths are bound too.
 */
import type { ASTNode } from "@marcbachmann/cel-js";
import { invalidArgument } from "../../core/errors.ts";
import { parseDurationMicros, type CompiledFilter } from "../../core/filter/compile.ts";
import { RUN_TYPE_CONSTANTS, STATUS_CONSTANTS } from "../../core/filter/env.ts";
import { jsonKeyPath, KV_MAX_VALUE_CHARS, kvMember, tableSpec, type KvMember, type TableSpec } from "./columns.ts";
import { Params, type SqlValue } from "./params.ts";
import { checkRegex } from "./regexp.ts";

type ScalarKind = "bool" | "string" | "int" | "double" | "timestamp" | "duration" | "null";

interface Scalar {
  k: ScalarKind;
  /** Exact SQL: NULL only for a CEL error. */
  sql: string;
  /** Bare column without its NULL default, usable where error = false. */
  bare?: string;
  /** The default a NULL column stands for (results without a summary). */
  def?: unknown;
  /** The JS value when this is a literal. */
  lit?: unknown;
}

interface Json {
  k: "json";
  doc: string;
  /** SQL expression of the JSON path (a bound literal or jeN.fullkey || …). */
  path: string;
  /** Literal path text when known at compile time (for generated columns). */
  litPath?: string;
  /** Generated column equal to `doc ->> path`, if any. */
  gen?: string;
  /** Generated column equal to the path parsed as a timestamp (micros), if any. */
  genTime?: string;
  /** A label or annotation with a key/value side table (see kvMember in columns.ts). */
  kv?: KvMember;
}

/**
 * How many rows a label/annotation equality matches decides how it is best
 * found: few, through the side table as the driving index; many, by walking
 * the list's own order and probing the side table per row (no sort of all
 * matches). The store answers with a bounded count.
 */
export interface TranslateOptions {
  /** True when `key` has one of `values` in more rows than a sort should take. */
  denseKv?: (kv: KvMember, values: string[]) => boolean;
  /**
   * True when the indexed generated column `column` (a fixed name from
   * columns.ts) has more rows in [lo, hi) than a sort should take; then a
   * prefix test is checked per row in list order instead of driving the query.
   */
  denseRange?: (column: string, lo: string, hi: string | null) => boolean;
}

interface List {
  k: "list";
  items: V[];
}

interface Summary {
  k: "summary";
}

type V = Scalar | Json | List | Summary;

const NUM = "('integer','real')";
const BOOLS = "('true','false')";
const TIMESTAMP_GLOB = "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]*";

const ACCESSOR_FORMAT: Record<string, [string, number]> = {
  getFullYear: ["%Y", 0],
  getMonth: ["%m", -1],
  getDate: ["%d", 0],
  getDayOfMonth: ["%d", -1],
  getDayOfWeek: ["%w", 0],
  getDayOfYear: ["%j", -1],
  getHours: ["%H", 0],
  getMinutes: ["%M", 0],
  getSeconds: ["%S", 0],
};
const DURATION_UNITS: Record<string, number> = {
  getHours: 3_600_000_000,
  getMinutes: 60_000_000,
  getSeconds: 1_000_000,
  getMilliseconds: 1_000,
};

const SQL_OP: Record<string, string> = { "==": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">=" };
const FLIP: Record<string, string> = { "==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<=" };

const typeName = (n: ASTNode): string => (n as unknown as { checkedType?: { name?: string } }).checkedType?.name ?? "dyn";

export interface FilterSql {
  sql: string;
  params: Params;
}

class Translator {
  private aliases = 0;
  private readonly vars = new Map<string, V>();

  constructor(
    private readonly spec: TableSpec,
    private readonly opts: TranslateOptions,
    readonly params: Params,
  ) {}

  private unsupported(n: ASTNode, what: string): Error {
    return invalidArgument(`filter: ${what} is not supported in filters (at column ${n.start + 1})`);
  }

  private p(v: SqlValue): string {
    return this.params.add(v);
  }

  // ---- values ---------------------------------------------------------------

  private literal(n: ASTNode): Scalar {
    const v = n.args as unknown;
    if (typeof v === "string") return { k: "string", sql: this.p(v), lit: v };
    if (typeof v === "bigint") {
      const num = Number(v);
      return { k: "int", sql: this.p(Number.isSafeInteger(num) ? num : v), lit: num };
    }
    if (typeof v === "number") return { k: "double", sql: this.p(v), lit: v };
    if (typeof v === "boolean") return { k: "bool", sql: v ? "1" : "0", lit: v };
    if (v === null) return { k: "null", sql: "NULL", lit: null };
    throw this.unsupported(n, typeName(n) === "uint" ? "an unsigned integer literal" : "a bytes literal");
  }

  private child(j: Json, key: string | number): Json {
    const suffix = typeof key === "number" ? `[${key}]` : `.${jsonKeyPath(key)}`;
    if (j.litPath !== undefined) {
      const litPath = j.litPath + suffix;
      const gen = this.spec.generated?.get(litPath);
      const kv = !gen && typeof key === "string" ? kvMember(this.spec, j.doc, j.litPath, key) : undefined;
      return { k: "json", doc: j.doc, path: this.p(litPath), litPath, gen: gen?.text, genTime: gen?.time, kv };
    }
    return { k: "json", doc: j.doc, path: `(${j.path} || ${this.p(suffix)})` };
  }

  private T(j: Json): string {
    return `json_type(${j.doc}, ${j.path})`;
  }

  private X(j: Json): string {
    return j.gen ?? `(${j.doc} ->> ${j.path})`;
  }

  /** The string in a value, NULL (error) when it is not one. */
  private str(v: V, n: ASTNode): string {
    if (v.k === "string") return v.sql;
    if (v.k === "json") return `(CASE WHEN ${this.T(v)} = 'text' THEN ${this.X(v)} END)`;
    throw this.unsupported(n, `a ${v.k} where a string is expected`);
  }

  /** A timestamp in Unix microseconds, NULL (error) when not one. */
  private toTimestamp(v: V, n: ASTNode): string {
    if (v.k === "timestamp") return v.sql;
    if (v.k === "string" && typeof v.lit === "string") {
      const ms = Date.parse(v.lit);
      if (v.lit.length < 20 || v.lit.length > 30 || Number.isNaN(ms)) {
        throw invalidArgument(`filter: invalid timestamp ${JSON.stringify(v.lit)} at column ${n.start + 1}`);
      }
      const frac = /\.(\d+)/.exec(v.lit)?.[1] ?? "";
      const micros = Math.floor(ms / 1000) * 1_000_000 + Number((frac + "000000").slice(0, 6));
      return this.p(micros);
    }
    if (v.k === "json" && v.genTime) return v.genTime;
    const s = this.str(v, n);
    return `(CASE WHEN length(${s}) BETWEEN 20 AND 30 AND ${s} GLOB '${TIMESTAMP_GLOB}' THEN CAST(round(unixepoch(${s}, 'subsec') * 1000000) AS INTEGER) END)`;
  }

  private value(n: ASTNode): V {
    const a = n.args as unknown;
    switch (n.op) {
      case "value":
        return this.literal(n);
      case "id": {
        const name = a as string;
        const bound = this.vars.get(name);
        if (bound) return bound;
        if (name in RUN_TYPE_CONSTANTS) {
          const v = RUN_TYPE_CONSTANTS[name as keyof typeof RUN_TYPE_CONSTANTS];
          return { k: "string", sql: this.p(v), lit: v };
        }
        if (this.spec.table === "results" && name in STATUS_CONSTANTS) {
          const v = Number(STATUS_CONSTANTS[name as keyof typeof STATUS_CONSTANTS]);
          return { k: "int", sql: this.p(v), lit: v };
        }
        const col = this.spec.scalars[name];
        if (col) return { k: col.kind, sql: col.def === undefined ? col.sql : `coalesce(${col.sql}, ${col.defSql})`, bare: col.sql, def: col.def };
        const doc = this.spec.json[name];
        if (doc) return { k: "json", doc, path: this.p("$"), litPath: "$" };
        if (name === "summary" && this.spec.table === "results") return { k: "summary" };
        throw this.unsupported(n, `the identifier ${name}`);
      }
      case ".": {
        const [target, field] = a as [ASTNode, string];
        const t = this.value(target);
        if (t.k === "json") return this.child(t, field);
        if (t.k === "summary") {
          const col = this.spec.summary?.[field];
          if (col && "json" in col) return { k: "json", doc: col.json, path: this.p("$"), litPath: "$" };
          if (col) {
            const sql = col.def === undefined ? col.sql : `coalesce(${col.sql}, ${col.defSql})`;
            return { k: col.kind, sql, bare: col.sql, def: col.def };
          }
        }
        throw this.unsupported(n, `the field .${field}`);
      }
      case "[]": {
        const [target, index] = a as [ASTNode, ASTNode];
        const t = this.value(target);
        if (t.k !== "json") throw this.unsupported(n, "indexing this value");
        if (index.op !== "value") throw this.unsupported(index, "a computed index (use a literal key or position)");
        const key = index.args as unknown;
        if (typeof key === "string") return this.child(t, key);
        if (typeof key === "bigint" || typeof key === "number") {
          const i = Number(key);
          if (!Number.isInteger(i) || i < 0) return { k: "null", sql: "NULL" }; // CEL: index out of range is an error
          return this.child(t, i);
        }
        throw this.unsupported(index, "this kind of index");
      }
      case "list":
        return { k: "list", items: (a as ASTNode[]).map((x) => this.value(x)) };
      case "-_": {
        const v = this.value(a as ASTNode);
        if (v.k === "int" || v.k === "double" || v.k === "duration") {
          return { k: v.k, sql: `(- ${v.sql})`, lit: typeof v.lit === "number" ? -v.lit : undefined };
        }
        if (v.k === "json") return { k: "double", sql: `(CASE WHEN ${this.T(v)} IN ${NUM} THEN - ${this.X(v)} END)` };
        throw this.unsupported(n, "negating this value");
      }
      case "+":
      case "-":
      case "*":
      case "/":
      case "%":
        return this.arithmetic(n);
      case "call":
        return this.call(n);
      case "rcall":
        return this.rcall(n);
      case "?:": {
        const [c, x, y] = a as [ASTNode, ASTNode, ASTNode];
        const cond = this.bool(c, true);
        const xv = this.value(x);
        const yv = this.value(y);
        if (xv.k === "json" || yv.k === "json" || xv.k === "list" || xv.k === "summary" || yv.k === "list" || yv.k === "summary") {
          throw this.unsupported(n, "a conditional of this type");
        }
        return { k: xv.k === yv.k ? xv.k : "double", sql: `(CASE WHEN ${cond} THEN ${xv.sql} WHEN NOT ${cond} THEN ${yv.sql} END)` };
      }
      default:
        if (["&&", "||", "!_", "==", "!=", "<", "<=", ">", ">=", "in"].includes(n.op)) {
          return { k: "bool", sql: this.bool(n, true) };
        }
        throw this.unsupported(n, `the operator ${n.op}`);
    }
  }

  private arithmetic(n: ASTNode): Scalar {
    const [ln, rn] = n.args as [ASTNode, ASTNode];
    const l = this.value(ln);
    const r = this.value(rn);
    const op = n.op;
    const num = (v: V): string | null => {
      if (v.k === "int" || v.k === "double") return v.sql;
      // JSON numbers are doubles in CEL: they mix with doubles, not ints.
      if (v.k === "json") return `(CASE WHEN ${this.T(v)} IN ${NUM} THEN CAST(${this.X(v)} AS REAL) END)`;
      return null;
    };
    if (l.k === "string" || r.k === "string") {
      if (op !== "+") throw this.unsupported(n, `${op} on strings`);
      return { k: "string", sql: `(${this.str(l, ln)} || ${this.str(r, rn)})` };
    }
    if ((l.k === "timestamp" || l.k === "duration") && r.k === "duration" && (op === "+" || op === "-")) {
      return { k: l.k, sql: `(${l.sql} ${op} ${r.sql})` };
    }
    if (l.k === "duration" && r.k === "timestamp" && op === "+") return { k: "timestamp", sql: `(${l.sql} + ${r.sql})` };
    if (l.k === "timestamp" && r.k === "timestamp" && op === "-") return { k: "duration", sql: `(${l.sql} - ${r.sql})` };
    const ls = num(l);
    const rs = num(r);
    if (ls === null || rs === null) throw this.unsupported(n, `${op} on these values`);
    const lk = l.k === "json" ? "double" : l.k;
    const rk = r.k === "json" ? "double" : r.k;
    if (lk !== rk) return { k: "double", sql: "NULL" }; // CEL has no int/double arithmetic: a runtime error
    if (lk === "double") {
      if (op === "%") throw this.unsupported(n, "% on doubles");
      return { k: "double", sql: `(${ls} ${op} ${op === "/" ? `CAST(${rs} AS REAL)` : rs})` };
    }
    return { k: "int", sql: `(${ls} ${op} ${rs})` };
  }

  private call(n: ASTNode): V {
    const [fn, args] = n.args as [string, ASTNode[]];
    switch (fn) {
      case "timestamp":
        return { k: "timestamp", sql: this.toTimestamp(this.value(args[0]!), args[0]!) };
      case "duration": {
        const arg = args[0]!;
        if (arg.op !== "value" || typeof arg.args !== "string") throw this.unsupported(n, "duration() of a computed value");
        const micros = parseDurationMicros(arg.args);
        if (micros === null) throw invalidArgument(`filter: invalid duration ${JSON.stringify(arg.args)}`);
        return { k: "duration", sql: this.p(micros), lit: micros };
      }
      case "size":
        return this.size(this.value(args[0]!), n);
      case "dyn":
        return this.value(args[0]!);
      case "has":
        return { k: "bool", sql: this.has(args[0]!, true) };
    }
    throw this.unsupported(n, `the function ${fn}()`);
  }

  private size(v: V, n: ASTNode): Scalar {
    if (v.k === "string") return { k: "int", sql: strlen(v.sql) };
    if (v.k === "list") return { k: "int", sql: String(v.items.length) };
    if (v.k === "json") {
      return {
        k: "int",
        sql: `(CASE ${this.T(v)} WHEN 'text' THEN ${strlen(this.X(v))} WHEN 'array' THEN json_array_length(${v.doc}, ${v.path}) WHEN 'object' THEN (SELECT count(*) FROM json_each(${v.doc}, ${v.path})) END)`,
      };
    }
    throw this.unsupported(n, "size() of this value");
  }

  private rcall(n: ASTNode): V {
    const [fn, recvNode, args] = n.args as [string, ASTNode, ASTNode[]];
    if (fn === "exists" || fn === "all" || fn === "exists_one") return { k: "bool", sql: this.comprehension(n, true) };
    if (fn === "size") return this.size(this.value(recvNode), n);
    const recv = this.value(recvNode);
    if (fn in ACCESSOR_FORMAT || fn === "getMilliseconds") {
      if (recv.k === "duration") {
        return { k: "int", sql: `(${recv.sql} / ${DURATION_UNITS[fn] ?? this.bad(n, fn)})` };
      }
      const t = recv.k === "timestamp" ? recv.sql : this.toTimestamp(recv, recvNode);
      const local = args[0] ? `(${t} + ${this.tzOffset(args[0], t)})` : t;
      if (fn === "getMilliseconds") return { k: "int", sql: `((${local} / 1000) % 1000)` };
      const [fmt, delta] = ACCESSOR_FORMAT[fn]!;
      return {
        k: "int",
        sql: `(CAST(strftime('${fmt}', floor(${local} / 1000000.0), 'unixepoch') AS INTEGER)${delta ? ` - ${-delta}` : ""})`,
      };
    }
    if (fn === "contains" || fn === "startsWith" || fn === "endsWith" || fn === "matches") {
      return { k: "bool", sql: this.stringTest(n, true) };
    }
    throw this.unsupported(n, `the method ${fn}()`);
  }

  private bad(n: ASTNode, what: string): never {
    throw this.unsupported(n, what);
  }

  /** Offset in microseconds for a time zone argument ("Europe/Paris", "+02:00"). */
  private tzOffset(arg: ASTNode, t: string): string {
    if (arg.op !== "value" || typeof arg.args !== "string") throw this.unsupported(arg, "a computed time zone");
    const tz = arg.args;
    const fixed = /^([+-])(\d{2}):(\d{2})$/.exec(tz);
    if (fixed) {
      const secs = (Number(fixed[2]) * 3600 + Number(fixed[3]) * 60) * (fixed[1] === "-" ? -1 : 1);
      return this.p(secs * 1_000_000);
    }
    try {
      new Intl.DateTimeFormat("en-US", { timeZone: tz });
    } catch {
      throw invalidArgument(`filter: unknown time zone ${JSON.stringify(tz)} at column ${arg.start + 1}`);
    }
    return `(hs_tz_offset(${t}, ${this.p(tz)}) * 1000000)`;
  }

  // ---- booleans -------------------------------------------------------------

  /**
   * A boolean expression as SQL (1, 0, or NULL for a CEL error). `exact`
   * false means the caller treats false and error alike (positive context).
   */
  bool(n: ASTNode, exact: boolean): string {
    const a = n.args as unknown;
    switch (n.op) {
      case "&&":
      case "||": {
        const [l, r] = a as [ASTNode, ASTNode];
        return `(${this.bool(l, exact)} ${n.op === "&&" ? "AND" : "OR"} ${this.bool(r, exact)})`;
      }
      case "!_":
        return `(NOT ${this.bool(a as ASTNode, true)})`;
      case "==":
      case "!=":
      case "<":
      case "<=":
      case ">":
      case ">=": {
        const [l, r] = a as [ASTNode, ASTNode];
        return this.compare(n.op, this.value(l), this.value(r), exact, n);
      }
      case "in":
        return this.inOp(n, exact);
      case "value":
        if (typeof a === "boolean") return a ? "1" : "0";
        break;
      case "rcall": {
        const fn = (a as [string])[0];
        if (fn === "exists" || fn === "all" || fn === "exists_one") return this.comprehension(n, exact);
        if (fn === "contains" || fn === "startsWith" || fn === "endsWith" || fn === "matches") return this.stringTest(n, exact);
        break;
      }
      case "call":
        if ((a as [string])[0] === "has") return this.has((a as [string, ASTNode[]])[1][0]!, exact);
        break;
      case "?:": {
        const [c, x, y] = a as [ASTNode, ASTNode, ASTNode];
        const cond = this.bool(c, true);
        return `(CASE WHEN ${cond} THEN ${this.bool(x, exact)} WHEN NOT ${cond} THEN ${this.bool(y, exact)} END)`;
      }
    }
    const v = this.value(n);
    if (v.k === "bool") return v.sql;
    if (v.k === "json") {
      // A dynamic value used as a condition: true/false, else an error.
      return `(CASE ${this.T(v)} WHEN 'true' THEN 1 WHEN 'false' THEN 0 END)`;
    }
    throw this.unsupported(n, "this expression as a condition");
  }

  private compare(op: string, l: V, r: V, exact: boolean, n: ASTNode): string {
    if (l.k !== "json" && r.k === "json") return this.compare(FLIP[op]!, r, l, exact, n);
    const sop = SQL_OP[op]!;
    if (l.k === "json" && r.k === "json") return this.compareJson(sop, l, r);
    if (l.k === "json") {
      if (r.k === "list" || r.k === "summary") throw this.unsupported(n, "comparing with this value");
      return this.compareJsonScalar(op, l, r as Scalar, exact);
    }
    if (l.k === "list" || r.k === "list" || l.k === "summary" || r.k === "summary") {
      throw this.unsupported(n, "comparing lists or messages");
    }
    return this.compareScalars(op, l, r as Scalar, exact);
  }

  private compareScalars(op: string, l: Scalar, r: Scalar, exact: boolean): string {
    const sop = SQL_OP[op]!;
    // Typed scalars: SQL comparison has CEL's meaning (NULL only for errors).
    // Where false and error are alike, compare the bare column so an index
    // applies, unless the literal is the column's default.
    // A bare column (NULL instead of its default) is right where false and
    // error are alike, provided the default itself would not match.
    const bareL = !exact && l.bare !== undefined && r.lit !== undefined && !holds(l.def, op, r.lit) ? l.bare : l.sql;
    const bareR = !exact && r.bare !== undefined && l.lit !== undefined && !holds(l.lit, op, r.def) ? r.bare : r.sql;
    if (l.k === "null" || r.k === "null") {
      // Only `x == null` on typed values reaches here: never equal.
      return op === "==" ? "0" : op === "!=" ? "1" : "NULL";
    }
    return `(${bareL} ${sop} ${bareR})`;
  }

  private typesFor(k: ScalarKind): string {
    switch (k) {
      case "string":
        return "('text')";
      case "int":
      case "double":
        return NUM;
      case "bool":
        return BOOLS;
      case "null":
        return "('null')";
      default:
        return "('none')"; // JSON never holds timestamps or durations
    }
  }

  private compareJsonScalar(op: string, j: Json, s: Scalar, exact: boolean): string {
    const T = this.T(j);
    const X = this.X(j);
    const types = this.typesFor(s.k);
    const rhs = s.sql;
    const sNull = s.lit === undefined && s.k !== "null" ? `WHEN ${s.sql} IS NULL THEN NULL ` : "";
    if (op === "==" || op === "!=") {
      let eq: string;
      if (s.k === "null") {
        eq = exact || op === "!=" ? `(CASE WHEN ${T} IS NULL THEN NULL ELSE ${T} = 'null' END)` : `(${T} = 'null')`;
      } else if (!exact && op === "==") {
        // Positive context: a missing key and a different type are both "not selected".
        const needsGuard =
          s.lit === undefined ||
          (s.k === "string" && /^[[{]/.test(s.lit as string)) ||
          ((s.k === "int" || s.k === "double") && (s.lit === 0 || s.lit === 1)) ||
          s.k === "bool";
        eq = needsGuard ? `(${X} = ${rhs} AND ${T} IN ${types})` : `(${X} = ${rhs})`;
        // A label or result annotation: the side table alone answers it. It
        // holds exactly the (key, string value) pairs of the document for
        // values this short (the triggers of migrations 0003/0005), so
        // confirming on the document would only read a 12 KB row per
        // candidate, and SQLite runs such a term before a subquery.
        if (j.kv && s.k === "string" && typeof s.lit === "string" && [...s.lit].length <= KV_MAX_VALUE_CHARS) {
          eq = this.kvSql(j.kv, [rhs], [s.lit]);
        }
      } else {
        eq = `(CASE ${sNull}WHEN ${T} IS NULL THEN NULL WHEN ${T} IN ${types} THEN ${X} = ${rhs} ELSE 0 END)`;
      }
      return op === "==" ? eq : `(NOT ${eq})`;
    }
    const sop = SQL_OP[op]!;
    if (s.k === "null") return "NULL";
    if (!exact && j.gen) return `(${X} ${sop} ${rhs} AND ${T} IN ${types})`;
    return `(CASE WHEN ${T} IN ${types} THEN ${X} ${sop} ${rhs} END)`;
  }

  /** The rows whose label/annotation `kv.key` has one of `values` (bound SQL), from the side table. */
  private kvSql(kv: KvMember, values: string[], lits: string[]): string {
    const key = this.p(kv.key);
    const value = values.length === 1 ? `= ${values[0]}` : `IN (${values.join(", ")})`;
    const [tab, owner] = kv.table === "record_kv" ? ["record_kv", "records"] : ["result_kv", "results"];
    const match = `${tab}.key = ${key} AND ${tab}.value ${value}` + (kv.table === "record_kv" ? ` AND ${tab}.kind = ${kv.kind}` : "");
    if (this.opts.denseKv?.(kv, lits)) return `EXISTS (SELECT 1 FROM ${tab} WHERE ${match} AND ${tab}.rid = ${owner}.rid)`;
    return `${owner}.rid IN (SELECT ${tab}.rid FROM ${tab} WHERE ${match})`;
  }

  private compareJson(sop: string, l: Json, r: Json): string {
    const [T1, T2, X1, X2] = [this.T(l), this.T(r), this.X(l), this.X(r)];
    const sameKind =
      `((${T1} IN ${NUM} AND ${T2} IN ${NUM}) OR (${T1} IN ${BOOLS} AND ${T2} IN ${BOOLS}) OR ` +
      `(${T1} = ${T2} AND ${T1} NOT IN ${NUM} AND ${T1} NOT IN ${BOOLS}))`;
    if (sop === "=" || sop === "<>") {
      const eq = `(CASE WHEN ${T1} IS NULL OR ${T2} IS NULL THEN NULL WHEN ${sameKind} THEN ${X1} IS ${X2} ELSE 0 END)`;
      return sop === "=" ? eq : `(NOT ${eq})`;
    }
    return `(CASE WHEN (${T1} IN ${NUM} AND ${T2} IN ${NUM}) OR (${T1} = 'text' AND ${T2} = 'text') OR (${T1} IN ${BOOLS} AND ${T2} IN ${BOOLS}) THEN ${X1} ${sop} ${X2} END)`;
  }

  private inOp(n: ASTNode, exact: boolean): string {
    const [xn, cn] = n.args as [ASTNode, ASTNode];
    const x = this.value(xn);
    const c = this.value(cn);
    if (c.k === "list") {
      if (c.items.length === 0) return x.k === "json" ? `(CASE WHEN ${this.T(x)} IS NULL THEN NULL ELSE 0 END)` : "0";
      const allPlainStrings = c.items.every((i) => i.k === "string" && typeof (i as Scalar).lit === "string" && !/^[[{]/.test((i as Scalar).lit as string));
      if (!exact && allPlainStrings && (x.k === "json" || x.k === "string")) {
        const defIn = x.k === "string" && c.items.some((i) => (i as Scalar).lit === x.def);
        const lhs = x.k === "json" ? this.X(x) : defIn ? x.sql : (x.bare ?? x.sql);
        const values = c.items.map((i) => (i as Scalar).sql);
        const inList = `(${lhs} IN (${values.join(", ")}))`;
        const kvOk = x.k === "json" && x.kv && c.items.every((i) => [...((i as Scalar).lit as string)].length <= KV_MAX_VALUE_CHARS);
        return kvOk ? this.kvSql(x.kv!, values, c.items.map((i) => (i as Scalar).lit as string)) : inList;
      }
      return `(${c.items.map((i) => this.compare("==", x, i, exact, n)).join(" OR ")})`;
    }
    if (c.k !== "json") throw this.unsupported(n, "`in` on this value");
    // Membership in a JSON value: a key of an object, an element of an array.
    const alias = `je${++this.aliases}`;
    const T = this.T(c);
    let keyTest: string;
    if (x.k === "string" && typeof x.lit === "string" && c.litPath !== undefined) {
      keyTest = `(json_type(${c.doc}, ${this.p(c.litPath + "." + jsonKeyPath(x.lit))}) IS NOT NULL)`;
    } else if (x.k === "string") {
      keyTest = `(CASE WHEN ${x.sql} IS NULL THEN NULL ELSE EXISTS (SELECT 1 FROM json_each(${c.doc}, ${c.path}) AS ${alias} WHERE ${alias}.key = ${x.sql}) END)`;
    } else if (x.k === "json") {
      const key = `(CASE WHEN ${this.T(x)} = 'text' THEN ${this.X(x)} END)`;
      keyTest = `(CASE WHEN ${this.T(x)} IS NULL THEN NULL WHEN ${key} IS NULL THEN 0 ELSE EXISTS (SELECT 1 FROM json_each(${c.doc}, ${c.path}) AS ${alias} WHERE ${alias}.key = ${key}) END)`;
    } else {
      keyTest = "0";
    }
    const elem: Json = { k: "json", doc: c.doc, path: `${alias}.fullkey` };
    const elemTest = `EXISTS (SELECT 1 FROM json_each(${c.doc}, ${c.path}) AS ${alias} WHERE ${this.compare("==", elem, x, true, n)} = 1)`;
    return `(CASE ${T} WHEN 'object' THEN ${keyTest} WHEN 'array' THEN ${elemTest} END)`;
  }

  private has(arg: ASTNode, exact: boolean): string {
    if (arg.op !== "." ) throw this.unsupported(arg, "has() of this expression");
    const [target, field] = arg.args as [ASTNode, string];
    const t = this.value(target);
    if (t.k === "summary") {
      const col = this.spec.summary?.[field];
      if (!col) throw this.unsupported(arg, `has() of summary.${field}`);
      return col.presence;
    }
    if (t.k !== "json") throw this.unsupported(arg, "has() of this expression");
    const c = this.child(t, field);
    if (!exact) return `(${this.T(c)} IS NOT NULL)`;
    // has(m.f): false when m lacks f, an error when m is not a map.
    return `(CASE ${this.T(t)} WHEN 'object' THEN ${this.T(c)} IS NOT NULL END)`;
  }

  private stringTest(n: ASTNode, exact: boolean): string {
    const [fn, recvNode, args] = n.args as [string, ASTNode, ASTNode[]];
    const recv = this.value(recvNode);
    const argNode = args[0]!;
    const arg = this.value(argNode);
    const argLit = arg.k === "string" && typeof arg.lit === "string" ? arg.lit : undefined;
    if (fn === "matches") {
      if (argLit === undefined) throw this.unsupported(argNode, "matches() with a computed pattern");
      const pattern = checkRegex(argLit, argNode.start + 1);
      return `hs_regexp(${this.p(pattern)}, ${this.str(recv, recvNode)})`;
    }
    const s = this.str(recv, recvNode);
    const a = this.str(arg, argNode);
    if (fn === "startsWith" && argLit !== undefined) {
      // A range, so an index on the column applies: [prefix, next string after all prefix…).
      const hi = nextPrefix(argLit);
      // The bare column is right only if its default ("") cannot match.
      const bareOk = recv.k === "string" && recv.bare && !exact && (recv.def === undefined || argLit !== "");
      let col = recv.k === "json" ? this.X(recv) : bareOk ? recv.bare! : s;
      const dense = recv.k === "json" && recv.gen !== undefined && this.opts.denseRange?.(recv.gen, argLit, hi) === true;
      // Unary + keeps the value but hides the index, for a prefix most rows share.
      if (dense) col = `+${col}`;
      // Only a string can start with the prefix, but the range alone also
      // admits other JSON values whose text form starts with it: numbers and
      // booleans (digits or "-", through the column's TEXT affinity), arrays
      // and objects ("[", "{"). Any other prefix needs no type test, which
      // would read every candidate's document instead of the index alone.
      const guard = recv.k === "json" && (argLit === "" || /^[-0-9[{]/.test(argLit)) ? ` AND ${this.T(recv)} = 'text'` : "";
      const between = (c: string) => (hi === null ? `${c} >= ${this.p(argLit)}` : `${c} >= ${this.p(argLit)} AND ${c} < ${this.p(hi)}`);
      let range: string;
      if (dense && recv.k === "json" && recv.gen === "records.g_name") {
        // A dense name prefix: the list walks its own order and tests each
        // row. Computing g_name reads the row's 12 KB document;
        // records_uid_name (migration 0006) holds it beside the uid, so each
        // row is one index seek. A subquery, so SQLite tests it after any
        // cheaper condition.
        const n = `n${++this.aliases}`;
        range = `EXISTS (SELECT 1 FROM records AS ${n} INDEXED BY records_uid_name WHERE ${n}.uid = records.uid AND ${between(`${n}.g_name`)})`;
      } else {
        range = between(col);
      }
      if (!exact) return `(${range}${guard})`;
      return `(CASE WHEN ${s} IS NULL THEN NULL ELSE (${range}) END)`;
    }
    // Byte-wise tests: UTF-8 substrings are code point substrings, and BLOB
    // functions do not stop at NUL characters as text functions do.
    const sb = `CAST(${s} AS BLOB)`;
    const ab = `CAST(${a} AS BLOB)`;
    switch (fn) {
      case "contains":
        return `(instr(${sb}, ${ab}) > 0)`;
      // substr() of an empty BLOB is NULL, hence the explicit length tests.
      case "startsWith":
        return `(CASE WHEN ${s} IS NULL OR ${a} IS NULL THEN NULL WHEN length(${ab}) = 0 THEN 1 ELSE length(${sb}) >= length(${ab}) AND substr(${sb}, 1, length(${ab})) = ${ab} END)`;
      case "endsWith":
        return `(CASE WHEN ${s} IS NULL OR ${a} IS NULL THEN NULL WHEN length(${ab}) = 0 THEN 1 ELSE length(${sb}) >= length(${ab}) AND substr(${sb}, length(${sb}) - length(${ab}) + 1) = ${ab} END)`;
    }
    throw this.unsupported(n, `${fn}()`);
  }

  private comprehension(n: ASTNode, exact: boolean): string {
    const [fn, recvNode, args] = n.args as [string, ASTNode, ASTNode[]];
    const [varNode, body] = args as [ASTNode, ASTNode];
    if (varNode.op !== "id") throw this.unsupported(n, `${fn}() with this variable`);
    const name = varNode.args as string;
    const recv = this.value(recvNode);
    if (recv.k !== "json") throw this.unsupported(n, `${fn}() over this value`);
    const alias = `je${++this.aliases}`;
    const from = `FROM json_each(${recv.doc}, ${recv.path}) AS ${alias}`;
    const compile = (elem: V, bodyExact: boolean) => {
      const prev = this.vars.get(name);
      const mark = this.params.values.length;
      this.vars.set(name, elem);
      try {
        return this.bool(body, bodyExact);
      } catch {
        // The body does not apply to this kind of element (a field of a map
        // key, say): in CEL that is an error for each element.
        this.params.truncate(mark);
        return "NULL";
      } finally {
        if (prev) this.vars.set(name, prev);
        else this.vars.delete(name);
      }
    };
    // Lists iterate elements; maps (JSON objects) iterate keys, as in CEL.
    const forms = (bodyExact: boolean) => ({
      array: compile({ k: "json", doc: recv.doc, path: `${alias}.fullkey` }, bodyExact),
      object: compile({ k: "string", sql: `${alias}.key` }, bodyExact),
    });
    const T = this.T(recv);
    const dispatch = (make: (body: string) => string, bodyExact: boolean) => {
      const f = forms(bodyExact);
      return `(CASE ${T} WHEN 'array' THEN ${make(f.array)} WHEN 'object' THEN ${make(f.object)} END)`;
    };
    if (fn === "exists") {
      if (!exact) return dispatch((b) => `EXISTS (SELECT 1 ${from} WHERE ${b})`, false);
      return dispatch(
        (b) => `(CASE WHEN EXISTS (SELECT 1 ${from} WHERE ${b}) THEN 1 WHEN EXISTS (SELECT 1 ${from} WHERE (${b}) IS NULL) THEN NULL ELSE 0 END)`,
        true,
      );
    }
    if (fn === "all") {
      if (!exact) return dispatch((b) => `NOT EXISTS (SELECT 1 ${from} WHERE (${b}) IS NOT 1)`, true);
      return dispatch(
        (b) => `(CASE WHEN EXISTS (SELECT 1 ${from} WHERE NOT (${b})) THEN 0 WHEN EXISTS (SELECT 1 ${from} WHERE (${b}) IS NULL) THEN NULL ELSE 1 END)`,
        true,
      );
    }
    if (fn === "exists_one") {
      return dispatch(
        (b) => `(CASE WHEN EXISTS (SELECT 1 ${from} WHERE (${b}) IS NULL) THEN NULL ELSE (SELECT count(*) ${from} WHERE ${b}) = 1 END)`,
        true,
      );
    }
    throw this.unsupported(n, `${fn}()`);
  }
}

/** Whether `a op b` holds for two literal values (undefined: no default, never). */
function holds(a: unknown, op: string, b: unknown): boolean {
  if (a === undefined || b === undefined) return false;
  const x = a as number | string;
  const y = b as number | string;
  switch (op) {
    case "==":
      return x === y;
    case "!=":
      return x !== y;
    case "<":
      return x < y;
    case "<=":
      return x <= y;
    case ">":
      return x > y;
    case ">=":
      return x >= y;
  }
  return true;
}

/**
 * Characters in a string. SQLite's length() stops at a NUL character, which
 * JSON strings may hold; those rare strings are counted from their bytes.
 */
function strlen(s: string): string {
  return `(CASE WHEN instr(CAST(${s} AS BLOB), X'00') > 0 THEN hs_utf8_length(CAST(${s} AS BLOB)) ELSE length(${s}) END)`;
}

/** The smallest string greater than every string that starts with `p`; null if none. */
export function nextPrefix(p: string): string | null {
  const cps = [...p];
  while (cps.length > 0) {
    const last = cps.pop()!.codePointAt(0)!;
    let next = last + 1;
    if (next >= 0xd800 && next <= 0xdfff) next = 0xe000;
    if (next <= 0x10ffff) return cps.join("") + String.fromCodePoint(next);
  }
  return null;
}

/** Translates a compiled filter for its table; throws INVALID_ARGUMENT for what SQL cannot express. */
export function translateFilter(f: CompiledFilter, params: Params = new Params(), opts: TranslateOptions = {}): FilterSql {
  const start = params.values.length;
  const t = new Translator(tableSpec(f.target), opts, params);
  const sql = t.bool(f.ast, false);
  // Values bound for fragments that were not used in the end (a path whose
  // generated column was used instead) must not trail the list: SQLite
  // counts parameters up to the highest number in the text.
  let max = start;
  for (const m of sql.matchAll(/\?(\d+)/g)) max = Math.max(max, Number(m[1]));
  params.truncate(max);
  return { sql, params };
}

