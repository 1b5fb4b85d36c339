/**
 * GetRecordListSummary (spec §3.8): aggregations over the records a parent
 * and filter select, optionally grouped by time bucket, namespace, pipeline
 * or repository. This module parses and checks the request and formats the
 * answer; the store computes the numbers.
 *
 * Differences from upstream, by its own [REC]s: an empty `summary` means
 * `total` (upstream rejects it), numbers are JSON numbers, and a failing
 * query is an error, never an empty answer.
 */
import { invalidArgument } from "./errors.ts";

export const AGGREGATES = [
  "total",
  "succeeded",
  "failed",
  "cancelled",
  "running",
  "others",
  "avg_duration",
  "max_duration",
  "min_duration",
  "total_duration",
  "last_runtime",
] as const;
export type Aggregate = (typeof AGGREGATES)[number];

export const TIME_UNITS = ["year", "month", "week", "day", "hour", "minute"] as const;
export type TimeUnit = (typeof TIME_UNITS)[number];

export type GroupBy =
  | { kind: "time"; unit: TimeUnit; field: "creationTimestamp" | "startTime" | "completionTime" }
  | { kind: "namespace" | "pipeline" | "repository" };

export interface SummaryQuery {
  aggregates: Aggregate[];
  groupBy: GroupBy | null;
  orderBy: { field: Aggregate; desc: boolean } | null;
}

export function parseSummaryRequest(summary: string, groupBy: string, orderBy: string): SummaryQuery {
  const names = summary === "" ? ["total"] : summary.split(",");
  const aggregates: Aggregate[] = [];
  for (const n of names) {
    if (!(AGGREGATES as readonly string[]).includes(n)) throw invalidArgument(`summary: invalid aggregate query: ${n}`);
    if (!aggregates.includes(n as Aggregate)) aggregates.push(n as Aggregate);
  }
  let group: GroupBy | null = null;
  if (groupBy !== "") {
    const parts = groupBy.split(" ");
    if (parts.length === 1 && (parts[0] === "namespace" || parts[0] === "pipeline" || parts[0] === "repository")) {
      group = { kind: parts[0] };
    } else if ((TIME_UNITS as readonly string[]).includes(parts[0]!) && parts.length <= 2) {
      const field = parts[1] ?? "creationTimestamp";
      if (parts.length === 2 && field !== "startTime" && field !== "completionTime") {
        throw invalidArgument(`group_by: group_by does not recognize ${field}`);
      }
      group = { kind: "time", unit: parts[0] as TimeUnit, field: field as "startTime" };
    } else {
      throw invalidArgument(`group_by: group_by does not recognize ${groupBy}`);
    }
  }
  let order: SummaryQuery["orderBy"] = null;
  if (group && orderBy !== "") {
    const m = /^(\S+) (ASC|asc|DESC|desc)$/.exec(orderBy);
    if (!m) throw invalidArgument(`order_by: order_by does not recognize ${orderBy}: use "<summary field> ASC|DESC"`);
    if (!aggregates.includes(m[1] as Aggregate)) {
      throw invalidArgument(`order_by: field name ${m[1]} is not allowed, must be one of summary`);
    }
    order = { field: m[1] as Aggregate, desc: m[2]!.toLowerCase() === "desc" };
  }
  return { aggregates, groupBy: group, orderBy: order };
}

/** A duration in microseconds as Postgres prints an interval: "[N day[s] ]HH:MM:SS[.ffffff]". */
export function formatDuration(micros: number): string {
  const neg = micros < 0;
  let us = Math.round(Math.abs(micros));
  const days = Math.floor(us / 86_400_000_000);
  us -= days * 86_400_000_000;
  const h = Math.floor(us / 3_600_000_000);
  us -= h * 3_600_000_000;
  const m = Math.floor(us / 60_000_000);
  us -= m * 60_000_000;
  const s = Math.floor(us / 1_000_000);
  us -= s * 1_000_000;
  const pad = (n: number) => String(n).padStart(2, "0");
  const frac = us > 0 ? "." + String(us).padStart(6, "0").replace(/0+$/, "") : "";
  const time = `${pad(h)}:${pad(m)}:${pad(s)}${frac}`;
  const dayText = days > 0 ? `${days} day${days === 1 ? "" : "s"} ` : "";
  return `${neg ? "-" : ""}${dayText}${time}`;
}
