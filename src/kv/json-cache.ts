// A typed JSON cache over a key-value store, and the one key format the whole service uses for
// rules: `waf-rule:<CVE>:<engine/model version>`.
//
// Hot keys are cheap: a value read again with the same text is not parsed again (the parsed object
// is kept beside the text it came from), and an optional in-process layer (`l1Ms`, off by default)
// answers repeated reads for a moment without asking Redis at all. Values are treated as immutable.
// Staleness of that layer: a write or delete through this JsonCache drops the key from it at once,
// so this process never reads its own older value; another process's write to the store is seen
// here at most `l1Ms` later (the service's WAFGEN_CACHE_L1_MS, 1 s by default).
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
}

export class JsonCache<T> {
  private readonly parsed: LRUCache<string, Parsed<T>>;
  private readonly l1: LRUCache<string, Parsed<T>> | undefined;
  private readonly accept: (value: unknown) => T | undefined;

  constructor(
    readonly kv: KeyValueStore,
    /** Default time to live, in milliseconds. */
    readonly ttlMs: number,
    opts: JsonCacheOptions<T> = {},
  ) {
    this.accept = opts.accept ?? ((v) => v as T);
    this.parsed = new LRUCache({ max: opts.maxParsed ?? 1000 });
    this.l1 =
      opts.l1Ms && opts.l1Ms > 0 ? new LRUCache({ max: opts.maxParsed ?? 1000, ttl: opts.l1Ms }) : undefined;
  }

  get kind(): KeyValueStore['kind'] {
    return this.kv.kind;
  }

  /**
   * The value while the in-process layer holds it (read from the store less than `l1Ms` ago, and
   * not replaced or deleted by this process since), else undefined: no I/O, no promise.
   */
  peek(key: string): T | undefined {
    return this.l1?.get(key)?.value;
  }

  async get(key: string): Promise<T | undefined> {
    const near = this.l1?.get(key);
    if (near) return near.value;
    const text = await this.kv.get(key);
    if (text === undefined) {
      this.parsed.delete(key);
      return undefined;
    }
    const known = this.parsed.get(key);
    if (known && known.text === text) {
      this.l1?.set(key, known);
      return known.value;
    }
    let value: T | undefined;
    try {
      value = this.accept(JSON.parse(text));
    } catch {
      return undefined;
    }
    if (value === undefined) return undefined;
    const entry = { text, value };
    this.parsed.set(key, entry);
    this.l1?.set(key, entry);
    return value;
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
