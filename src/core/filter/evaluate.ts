/**
 * In-memory evaluation of a compiled filter on one resource, with CEL's own
 * semantics (cel-js). Used where rows are already in memory (ListLogs, the
 * watcher) and as the reference the SQL translation is tested against. A
 * row matches only when the filter evaluates to `true`; an evaluation error
 * (a missing key, a type mismatch) means "no match", as in SQL.
 */
import type { RecordResource, ResultResource } from "../types.ts";
import type { CompiledFilter } from "./compile.ts";
import { environment } from "./env.ts";

const date = (micros: number) => new Date(Math.floor(micros / 1000));

export function recordContext(r: RecordResource): Record<string, unknown> {
  return {
    parent: r.parent,
    result_name: r.resultName,
    name: r.name,
    uid: r.uid,
    data_type: r.data?.type ?? "",
    data: r.data ? JSON.parse(r.data.value) : null,
    create_time: date(r.createTime),
    update_time: date(r.updateTime),
  };
}

export function resultContext(r: ResultResource): Record<string, unknown> {
  const s = r.summary;
  return {
    parent: r.parent,
    uid: r.uid,
    annotations: r.annotations,
    // An absent summary reads as record "", type "", status 0, no
    // annotations, and no times (upstream stores exactly that).
    summary: {
      record: s?.record ?? "",
      type: s?.type ?? "",
      ...(s?.startTime != null ? { start_time: date(s.startTime) } : {}),
      ...(s?.endTime != null ? { end_time: date(s.endTime) } : {}),
      status: BigInt(s?.status ?? 0),
      annotations: s?.annotations ?? {},
    },
    create_time: date(r.createTime),
    update_time: date(r.updateTime),
  };
}

/** A matcher for a compiled filter: parsed once, evaluated per row. */
export function filterMatcher(f: CompiledFilter): (context: Record<string, unknown>) => boolean {
  const program = environment(f.target).parse(f.normalized);
  return (context) => {
    try {
      return program(context) === true;
    } catch {
      return false;
    }
  };
}

export function evaluateFilter(f: CompiledFilter, context: Record<string, unknown>): boolean {
  return filterMatcher(f)(context);
}
