/**
 * Encoded records, kept so that listing the same records again costs a
 * copy of their bytes instead of reading each 12 KB document from SQLite,
 * converting it to text, base64 and JSON (or protobuf) again: that was
 * ~90% of a REST list page's CPU.
 *
 * A record's encoding is a function of its stored state, and every update
 * gives the record a new etag (the update time is in it, and strictly
 * increases), so an entry is looked up by uid and used only when its etag
 * is the one being listed: an updated record misses (and its old bytes are
 * dropped), a deleted one is never listed again and ages out. Entries are
 * kept per encoding ("json", "binary"), least recently used go first, and
 * the bytes held never exceed `maxBytes`, so the cache is a fixed part of
 * the server's memory budget.
 *
 * Whole pages are kept too (`page`): a page listed again with the very same
 * record encodings (the same kept entries, so the same records in the same
 * states) and the same page token is the same bytes, answered without
 * assembling (allocating and copying) 0.8 MB again, as a static file would
 * be. Pages count against the same budget, but records come first: a new
 * record pushes pages out before any record, and a page only takes room
 * that pages free. A page is rebuilt from kept records with one copy; a
 * record evicted costs a read of its 12 KB document. (With one LRU for both,
 * a dashboard cycling through seven filtered lists whose pages and records
 * together just exceeded the budget missed on every call.)
 */

/** One record's encoding in one state. `id` is unique to this object for the life of the process. */
export interface Kept {
  readonly bytes: Uint8Array;
  readonly id: number;
}

interface RecordEntry extends Kept {
  etag: string;
}

interface PageEntry {
  /** The ids of the parts it was made of (not the parts: they would keep evicted records alive). */
  parts: number[];
  token: string;
  bytes: Uint8Array;
}


/** Per-entry overhead counted against the budget besides the bytes (key, map slot, object). */
const ENTRY_OVERHEAD = 128;

export class EncodedRecordCache {
  /** Insertion order is recency order: a hit moves its entry to the end. */
  private readonly records = new Map<string, RecordEntry>();
  private readonly pages = new Map<string, PageEntry>();
  private held = 0;
  private nextId = 1;
  /** Record lookups answered from the cache, and those that were not. */
  hits = 0;
  misses = 0;
  /** Pages answered as kept bytes, and pages assembled. */
  pageHits = 0;
  pageMisses = 0;

  /**
   * `maxBytes` 0 turns the cache off. `pageLife` hears when a page is kept and
   * when it is dropped (evicted or replaced), so a page's buffer can be
   * used again only once nothing can hand it out (grpc/page-buffers.ts).
   */
  constructor(
    readonly maxBytes: number,
    private readonly pageLife: { cached(bytes: Uint8Array, kept: boolean): void } | null = null,
  ) {}

  /** The encoding of the record `uid` in `format` in the state `etag`, if kept. */
  get(format: string, uid: string, etag: string): Kept | undefined {
    const key = `${format}\u0000${uid}`;
    const e = this.records.get(key);
    if (e === undefined) {
      this.misses++;
      return undefined;
    }
    if (e.etag !== etag) {
      // Another state of the record (older, or newer than the one being listed): of no use.
      this.remove(this.records, key, e);
      this.misses++;
      return undefined;
    }
    this.records.delete(key);
    this.records.set(key, e);
    this.hits++;
    return e;
  }

  /**
   * Keeps `bytes` as the encoding of (format, uid, etag), replacing any other
   * state of it, and returns its handle (also when it is not kept: entries
   * over an eighth of the budget are not).
   */
  keep(format: string, uid: string, etag: string, bytes: Uint8Array): Kept {
    const e: RecordEntry = { etag, bytes, id: this.nextId++ };
    this.put(this.records, `${format}\u0000${uid}`, e, this.maxBytes / 8, [this.pages, this.records]);
    return e;
  }

  /**
   * The page made of `parts` (record encodings, in order) and `token`: the
   * bytes kept under `key` when they were made of the same parts (by id) and
   * the same token, else `build()`, kept under `key`. The key only finds the
   * candidate; the id check is what makes the answer exact. Pages up to a
   * quarter of the budget are kept (a REST page of fifty 12 KB records is
   * ~0.85 MB), records up to an eighth.
   */
  page(key: string, parts: readonly Kept[], token: string, build: () => Uint8Array): Uint8Array {
    if (this.maxBytes === 0) return build();
    const e = this.pages.get(key);
    if (e !== undefined && e.token === token && e.parts.length === parts.length && e.parts.every((id, i) => id === parts[i]!.id)) {
      this.pages.delete(key);
      this.pages.set(key, e);
      this.pageHits++;
      return e.bytes;
    }
    this.pageMisses++;
    const bytes = build();
    this.put(this.pages, key, { parts: parts.map((p) => p.id), token, bytes }, this.maxBytes / 4, [this.pages]);
    return bytes;
  }

  /**
   * Keeps `entry` in `map` under `key`, then evicts from `victims` in turn
   * (least recently used first) until the budget holds; an entry that would
   * still not fit is dropped itself.
   */
  private put<E extends RecordEntry | PageEntry>(map: Map<string, E>, key: string, entry: E, cap: number, victims: Array<Map<string, RecordEntry | PageEntry>>): void {
    const size = entry.bytes.byteLength + ENTRY_OVERHEAD;
    if (size > cap) return;
    const old = map.get(key);
    if (old) this.remove(map, key, old);
    map.set(key, entry);
    this.held += size;
    if (this.isPages(map)) this.pageLife?.cached(entry.bytes, true);
    for (const from of victims) {
      for (const [k, e] of from) {
        if (this.held <= this.maxBytes) return;
        this.remove(from, k, e);
      }
    }
  }

  /** Takes `e` out of `from` and the budget; a page's buffer may then be used again. */
  private remove(from: Map<string, RecordEntry | PageEntry>, key: string, e: RecordEntry | PageEntry): void {
    from.delete(key);
    this.held -= e.bytes.byteLength + ENTRY_OVERHEAD;
    if (this.isPages(from)) this.pageLife?.cached(e.bytes, false);
  }

  private isPages(map: Map<string, RecordEntry | PageEntry>): boolean {
    return (map as Map<string, unknown>) === this.pages;
  }

  /** Bytes counted against the budget now (entries' bytes plus their overhead). */
  get bytes(): number {
    return this.held;
  }

  /** Kept record encodings and kept pages. */
  get counts(): { records: number; pages: number } {
    return { records: this.records.size, pages: this.pages.size };
  }

  get size(): number {
    return this.records.size + this.pages.size;
  }
}
