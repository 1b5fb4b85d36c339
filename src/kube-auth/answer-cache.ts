/**
 * Answers of the Kubernetes API (TokenReview, SubjectAccessReview), kept
 * for a while so that a client's burst of calls costs the API server one
 * review, not one per call.
 *
 * Each answer says how long it may be kept (`ttlOf`): auth mode kubernetes
 * keeps positive answers for --auth-cache-ttl and negative ones for less,
 * so a newly granted RoleBinding takes effect quickly while a client
 * retrying a refused call in a loop still does not reach the API server on
 * every try. Failures (the API server could not be asked) are never kept:
 * the next call asks again. Concurrent asks for the same key share one
 * request.
 */
export class AnswerCache<V> {
  private readonly entries = new Map<string, { value: V; until: number }>();
  private readonly pending = new Map<string, Promise<V>>();

  /**
   * `ttlOf`: how long an answer is kept (ms; 0: not at all). `max`: entries
   * kept; past it the oldest go first.
   */
  constructor(
    private readonly ttlOf: (v: V) => number,
    private readonly max = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** The kept answer for `key`, else `load`'s (kept as `ttlOf` says). */
  get(key: string, load: () => Promise<V>): Promise<V> {
    const hit = this.entries.get(key);
    if (hit) {
      if (hit.until > this.now()) return Promise.resolve(hit.value);
      this.entries.delete(key);
    }
    const inFlight = this.pending.get(key);
    if (inFlight) return inFlight;
    const p = load().then(
      (value) => {
        this.pending.delete(key);
        const ttl = this.ttlOf(value);
        if (ttl > 0) {
          if (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value!);
          this.entries.set(key, { value, until: this.now() + ttl });
        }
        return value;
      },
      (e: unknown) => {
        this.pending.delete(key);
        throw e;
      },
    );
    this.pending.set(key, p);
    return p;
  }

  get size(): number {
    return this.entries.size;
  }
}
