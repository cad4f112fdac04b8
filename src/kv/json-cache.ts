// A typed JSON cache over a key-value store, and the one key format the whole service uses for
// rules: `waf-rule:<CVE>:<engine/model version>`.
//
// Hot keys are cheap: a value read again with the same text is not parsed again (the parsed object
// is kept beside the text it came from), and an optional in-process layer (`l1Ms`, off by default)
// answers repeated reads for a moment without asking Redis at all. Values are treated as immutable.
// Staleness of that layer: a write or delete through this JsonCache drops the key from it at once,
// so this process never reads its own older value; another process's write to the store is seen
// here at most `l1Ms` later (the service's WAFGEN_CACHE_L1_MS, 1 s by default).
//
// A key read in the second half of its `l1Ms` is read again from the store in the background (one
// read per key at a time), and the layer keeps answering meanwhile: a hot key never expires under
// load, so its readers do not all go to the store together when it would have. Measured (npm run
// bench:api -- --only get --profile, 50 connections on one hot rule): when the key expired each
// second, ~270 requests in 5 s fell through to the app's full path and a Redis read: ~4% of the
// profiled server's time, for 0.2% of the requests (counted by an instrumented build; 34 after).
// A value refreshed so is still one read from the store less than `l1Ms` ago: its time in the
// layer counts from when the read was sent.
import { LRUCache } from 'lru-cache';

import type { KeyValueStore } from './kv.js';

export function ruleCacheKey(cveId: string, engineVersion: string): string {
  return `waf-rule:${cveId.toUpperCase()}:${engineVersion}`;
}

interface Parsed<T> {
  text: string;
  value: T;
}

export interface JsonCacheOptions<T> {
  /** Checks what comes back (another version of wafgen may have written it); undefined = discard. */
  accept?: (value: unknown) => T | undefined;
  /** Milliseconds a value read from the store is served from this process before asking again (0: never). */
  l1Ms?: number;
  /** Parsed values kept (default 1000). */
  maxParsed?: number;
  /**
   * Clock in milliseconds for the in-process layer, for tests: read at every check (with the
   * default, performance.now, lru-cache reuses a reading for up to a millisecond, or until the
   * event loop runs its timer).
   */
  now?: () => number;
}

export class JsonCache<T> {
  private readonly parsed: LRUCache<string, Parsed<T>>;
  private readonly l1: LRUCache<string, Parsed<T>> | undefined;
  private readonly accept: (value: unknown) => T | undefined;
  private readonly l1Ms: number;
  private readonly now: () => number;
  /** Keys being read again from the store ahead of their expiry in the in-process layer. */
  private readonly refreshing = new Set<string>();

  constructor(
    readonly kv: KeyValueStore,
    /** Default time to live, in milliseconds. */
    readonly ttlMs: number,
    opts: JsonCacheOptions<T> = {},
  ) {
    this.accept = opts.accept ?? ((v) => v as T);
    this.parsed = new LRUCache({ max: opts.maxParsed ?? 1000 });
    this.l1Ms = opts.l1Ms && opts.l1Ms > 0 ? opts.l1Ms : 0;
    this.now = opts.now ?? (() => performance.now());
    this.l1 =
      this.l1Ms > 0
        ? new LRUCache({
            max: opts.maxParsed ?? 1000,
            ttl: this.l1Ms,
            perf: { now: this.now },
            ttlResolution: opts.now ? 0 : 1,
          })
        : undefined;
  }

  get kind(): KeyValueStore['kind'] {
    return this.kv.kind;
  }

  /**
   * The value while the in-process layer holds it (read from the store less than `l1Ms` ago, and
   * not replaced or deleted by this process since), else undefined. Nothing is awaited; past half
   * its time, a read from the store starts in the background (see the module comment).
   */
  peek(key: string): T | undefined {
    return this.near(key)?.value;
  }

  async get(key: string): Promise<T | undefined> {
    const near = this.near(key);
    if (near) return near.value;
    const text = await this.kv.get(key);
    if (text === undefined) {
      this.parsed.delete(key);
      return undefined;
    }
    const entry = this.entryOf(key, text);
    if (entry) this.l1?.set(key, entry);
    return entry?.value;
  }

  /** The in-process layer's entry, and a read from the store started when it is past half its time. */
  private near(key: string): Parsed<T> | undefined {
    const l1 = this.l1;
    if (!l1) return undefined;
    const entry = l1.get(key);
    if (entry && !this.refreshing.has(key) && l1.getRemainingTTL(key) * 2 < this.l1Ms)
      void this.refresh(l1, key, entry);
    return entry;
  }

  /**
   * Reads `key` from the store and gives its entry in the layer a new `l1Ms`, counted from when the
   * read was sent. Nothing changes when the entry was replaced, deleted or expired meanwhile (a
   * write or delete here, or the next read, has the newer word); a failed read leaves the entry to
   * expire as it would have.
   */
  private async refresh(l1: LRUCache<string, Parsed<T>>, key: string, entry: Parsed<T>): Promise<void> {
    const sent = this.now();
    this.refreshing.add(key);
    try {
      const text = await this.kv.get(key);
      if (l1.peek(key) !== entry) return;
      const fresh = text === undefined ? undefined : this.entryOf(key, text);
      // Under 1 ms left only when l1Ms is a few ms: the entry would have expired before the answer.
      const ttl = Math.floor(this.l1Ms - (this.now() - sent));
      if (!fresh || ttl < 1) {
        l1.delete(key);
        if (text === undefined) this.parsed.delete(key);
      } else l1.set(key, fresh, { ttl });
    } catch {
      // The store is away: the entry expires as it would have, and the next read asks again.
    } finally {
      this.refreshing.delete(key);
    }
  }

  /** The parsed entry for `text` read from the store (the known one when the text is the same). */
  private entryOf(key: string, text: string): Parsed<T> | undefined {
    const known = this.parsed.get(key);
    if (known && known.text === text) return known;
    let value: T | undefined;
    try {
      value = this.accept(JSON.parse(text));
    } catch {
      return undefined;
    }
    if (value === undefined) return undefined;
    const entry = { text, value };
    this.parsed.set(key, entry);
    return entry;
  }

  async set(key: string, value: T, ttlMs = this.ttlMs): Promise<void> {
    const text = JSON.stringify(value);
    this.l1?.delete(key);
    await this.kv.set(key, text, ttlMs);
    const entry = { text, value };
    this.parsed.set(key, entry);
    // Again after the write: a read that went to the store meanwhile may have put the old value back.
    this.l1?.set(key, entry, { ttl: Math.max(1, Math.min(ttlMs, this.l1.ttl)) });
  }

  async delete(key: string): Promise<void> {
    this.l1?.delete(key);
    this.parsed.delete(key);
    await this.kv.delete(key);
    this.l1?.delete(key);
    this.parsed.delete(key);
  }
}
