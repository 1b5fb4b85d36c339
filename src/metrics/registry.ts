/**
 * A small Prometheus registry: counters, gauges and histograms with labels,
 * rendered in the text exposition format (version 0.0.4). One registry per
 * running app; whatever serves `GET /metrics` returns `registry.render()`.
 *
 * Label values come from configuration (cluster names, resource names),
 * never from objects, so the number of series is fixed by the config.
 */

type Labels = Record<string, string>;

function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function labelText(names: readonly string[], values: readonly string[], extra = ""): string {
  const parts = names.map((n, i) => `${n}="${escapeLabel(values[i] ?? "")}"`);
  if (extra) parts.push(extra);
  return parts.length ? `{${parts.join(",")}}` : "";
}

function num(v: number): string {
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  if (Number.isNaN(v)) return "NaN";
  return String(v);
}

interface Metric {
  render(): string;
}

abstract class Base<T> implements Metric {
  protected readonly series = new Map<string, { values: string[]; v: T }>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    private readonly type: string,
  ) {}
  protected slot(labels: Labels, init: () => T): { values: string[]; v: T } {
    const values = this.labelNames.map((n) => labels[n] ?? "");
    const key = values.join("\u0000");
    let s = this.series.get(key);
    if (!s) {
      s = { values, v: init() };
      this.series.set(key, s);
    }
    return s;
  }
  /** Removes a series (e.g. a cluster that is no longer configured). */
  remove(labels: Labels): void {
    this.series.delete(this.labelNames.map((n) => labels[n] ?? "").join("\u0000"));
  }
  protected abstract lines(): string[];
  render(): string {
    return [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.type}`, ...this.lines()].join("\n");
  }
}

export class Counter extends Base<{ n: number }> {
  constructor(name: string, help: string, labelNames: readonly string[] = []) {
    super(name, help, labelNames, "counter");
  }
  inc(labels: Labels = {}, by = 1): void {
    this.slot(labels, () => ({ n: 0 })).v.n += by;
  }
  get(labels: Labels = {}): number {
    return this.slot(labels, () => ({ n: 0 })).v.n;
  }
  protected lines(): string[] {
    return [...this.series.values()].map((s) => `${this.name}${labelText(this.labelNames, s.values)} ${num(s.v.n)}`);
  }
}

export class Gauge extends Base<{ n: number }> {
  constructor(name: string, help: string, labelNames: readonly string[] = []) {
    super(name, help, labelNames, "gauge");
  }
  set(labels: Labels, v: number): void {
    this.slot(labels, () => ({ n: 0 })).v.n = v;
  }
  get(labels: Labels = {}): number {
    return this.slot(labels, () => ({ n: 0 })).v.n;
  }
  protected lines(): string[] {
    return [...this.series.values()].map((s) => `${this.name}${labelText(this.labelNames, s.values)} ${num(s.v.n)}`);
  }
}

export class Histogram extends Base<{ counts: number[]; sum: number; count: number }> {
  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    readonly buckets: readonly number[],
  ) {
    super(name, help, labelNames, "histogram");
  }
  observe(labels: Labels, v: number): void {
    const s = this.slot(labels, () => ({ counts: this.buckets.map(() => 0), sum: 0, count: 0 })).v;
    for (let i = 0; i < this.buckets.length; i++) if (v <= this.buckets[i]!) s.counts[i]!++;
    s.sum += v;
    s.count++;
  }
  /** Count and sum so far, for tests and status. */
  snapshot(labels: Labels): { count: number; sum: number } {
    const s = this.slot(labels, () => ({ counts: this.buckets.map(() => 0), sum: 0, count: 0 })).v;
    return { count: s.count, sum: s.sum };
  }
  protected lines(): string[] {
    const out: string[] = [];
    for (const s of this.series.values()) {
      this.buckets.forEach((b, i) => out.push(`${this.name}_bucket${labelText(this.labelNames, s.values, `le="${num(b)}"`)} ${s.v.counts[i]}`));
      out.push(`${this.name}_bucket${labelText(this.labelNames, s.values, 'le="+Inf"')} ${s.v.count}`);
      out.push(`${this.name}_sum${labelText(this.labelNames, s.values)} ${num(s.v.sum)}`);
      out.push(`${this.name}_count${labelText(this.labelNames, s.values)} ${s.v.count}`);
    }
    return out;
  }
}

export class Registry {
  private readonly metrics = new Map<string, Metric>();
  private readonly collectors: Array<() => void> = [];

  /** `fn` runs before each render, to refresh gauges that are read rather than pushed. */
  onCollect(fn: () => void): void {
    this.collectors.push(fn);
  }

  private add<M extends Metric & { name: string }>(m: M): M {
    const existing = this.metrics.get(m.name);
    if (existing) return existing as M;
    this.metrics.set(m.name, m);
    return m;
  }

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    return this.add(new Counter(name, help, labelNames));
  }

  gauge(name: string, help: string, labelNames: readonly string[] = []): Gauge {
    return this.add(new Gauge(name, help, labelNames));
  }

  histogram(name: string, help: string, labelNames: readonly string[], buckets: readonly number[]): Histogram {
    return this.add(new Histogram(name, help, labelNames, buckets));
  }

  /** The Prometheus text format, for `GET /metrics` (content type `text/plain; version=0.0.4`). */
  render(): string {
    for (const c of this.collectors) c();
    return [...this.metrics.values()].map((m) => m.render()).join("\n") + "\n";
  }
}

export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
