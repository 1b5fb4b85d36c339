/**
 * Retention: which Results have outlived the policy. Like upstream's
 * retention agent (first matching rule wins, a rule's criteria are ANDed
 * and the values of one criterion ORed), but timed by the run's completion,
 * not by the row's last update: a run re-synced by the watcher yesterday
 * that finished a year ago is a year old. The completion time is the
 * Result's summary end time, else the latest completionTime among its
 * records; a run that has not completed is never pruned.
 *
 * Rules become SQL with bound values only: namespaces and statuses are
 * column tests, pipelines a test of the Result's tekton.dev/pipeline
 * annotation (the watcher copies the label there), and a CEL filter goes
 * through the same compiler and translator as ListResults, so it means
 * exactly what it means in a list call.
 */
import type { Database, SQLQueryBindings } from "bun:sqlite";
import { ConfigError, type Config, type RetentionRule, type RetentionStatus } from "../config/config.ts";
import { compileFilter } from "../core/filter/compile.ts";
import { Params } from "../store/filter/params.ts";
import { translateFilter } from "../store/filter/translate.ts";

const STATUS_CODE: Record<RetentionStatus, number> = { unknown: 0, success: 1, failure: 2, timeout: 3, cancelled: 4 };

export interface CompiledRule {
  rule: RetentionRule;
  /** SQL condition over `results`, with values in the query's Params. */
  sql: string;
}

export interface Policy {
  rules: RetentionRule[];
  defaultMaxAgeMs: number | null;
  /** The matching CASE and its values; rebuilt per query (Params are numbered). */
  build(p: Params): string;
}

function ruleSql(rule: RetentionRule, p: Params, where: string): string {
  const parts: string[] = [];
  if (rule.namespaces.length) parts.push(`results.parent IN (${rule.namespaces.map((n) => p.add(n)).join(", ")})`);
  if (rule.pipelines.length) {
    parts.push(`(results.annotations ->> '$."tekton.dev/pipeline"') IN (${rule.pipelines.map((n) => p.add(n)).join(", ")})`);
  }
  if (rule.statuses.length) parts.push(`coalesce(results.summary_status, 0) IN (${rule.statuses.map((s) => p.add(STATUS_CODE[s])).join(", ")})`);
  if (rule.filter) {
    let compiled;
    try {
      compiled = compileFilter("results", rule.filter);
      if (compiled) parts.push(`(${translateFilter(compiled, p).sql})`);
    } catch (e) {
      throw new ConfigError(`${where}.filter: ${JSON.stringify(rule.filter)}: ${(e as Error).message}`);
    }
  }
  return parts.length ? parts.join(" AND ") : "1";
}

/** Checks every rule (a bad CEL filter is a config error naming the rule) and returns the policy. */
export function compilePolicy(cfg: Pick<Config, "retentionRules" | "retentionMaxAgeMs">): Policy {
  const rules = cfg.retentionRules;
  const build = (p: Params) => {
    if (rules.length === 0) return "-1";
    const whens = rules.map((r, i) => `WHEN ${ruleSql(r, p, `retention.rules[${i}]`)} THEN ${i}`);
    return `CASE ${whens.join(" ")} ELSE -1 END`;
  };
  build(new Params());
  return { rules, defaultMaxAgeMs: cfg.retentionMaxAgeMs, build };
}

export interface Expired {
  rid: number;
  /** "<parent>/results/<name>" */
  name: string;
  /** Completion, Unix ms. */
  completedMs: number;
  /** The rule that decided, or "maxAge" for the default. */
  rule: string;
  maxAgeMs: number;
}

const COMPLETED = `coalesce(results.summary_end_time, (SELECT max(records.g_completion_time) FROM records WHERE records.result_rid = results.rid))`;

/** The Results the policy would delete now, oldest first. Reads only. */
export function expiredResults(db: Database, policy: Policy, nowMs: number): Expired[] {
  const ages = [...policy.rules.map((r) => r.maxAgeMs), policy.defaultMaxAgeMs].filter((a): a is number => a !== null);
  if (ages.length === 0) return [];
  const p = new Params();
  const ruleCase = policy.build(p);
  // Nothing completed after the shortest age's cutoff can be due.
  const latest = p.add((nowMs - Math.min(...ages)) * 1000);
  const sql = `SELECT rid, parent, name, done, rule FROM (
      SELECT results.rid AS rid, results.parent AS parent, results.name AS name, ${COMPLETED} AS done, ${ruleCase} AS rule FROM results
    ) WHERE done IS NOT NULL AND done < ${latest} ORDER BY done`;
  const rows = db.prepare<{ rid: number; parent: string; name: string; done: number; rule: number }, SQLQueryBindings[]>(sql).all(...(p.values as SQLQueryBindings[]));
  const out: Expired[] = [];
  for (const r of rows) {
    const rule = r.rule >= 0 ? policy.rules[r.rule]! : null;
    const maxAgeMs = rule ? rule.maxAgeMs : policy.defaultMaxAgeMs;
    if (maxAgeMs === null) continue;
    const completedMs = Math.floor(r.done / 1000);
    if (completedMs >= nowMs - maxAgeMs) continue;
    out.push({ rid: r.rid, name: `${r.parent}/results/${r.name}`, completedMs, rule: rule ? rule.name : "maxAge", maxAgeMs });
  }
  return out;
}

/**
 * Deletes the given Results (records and their side rows go by cascade), in
 * short transactions so the service's writes are never held up for long.
 * Returns how many were deleted (one deleted meanwhile is not counted).
 */
export function deleteResults(db: Database, rids: number[], batch = 200): number {
  const stmt = db.prepare<unknown, [number]>("DELETE FROM results WHERE rid = ?");
  let n = 0;
  for (let i = 0; i < rids.length; i += batch) {
    const chunk = rids.slice(i, i + batch);
    db.transaction(() => {
      for (const rid of chunk) n += stmt.run(rid).changes;
    }).immediate();
  }
  return n;
}
