/**
 * Numbered SQL parameters. Every value that came from a request is bound
 * through here; SQL text only ever contains fixed fragments and `?N`.
 * Numbered rather than positional, so fragments can be combined in any order
 * and one value can be used twice.
 */
export type SqlValue = string | number | bigint | Uint8Array | null;

export class Params {
  readonly values: SqlValue[] = [];

  /** Forgets values added after `mark` (a fragment that was abandoned). */
  truncate(mark: number): void {
    this.values.length = mark;
  }

  add(v: SqlValue): string {
    this.values.push(v);
    return `?${this.values.length}`;
  }
}
