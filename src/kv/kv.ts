// A small key-value interface the cache, the single-flight locks and the webhook replay guard share:
// Redis in production (every replica sees the same keys), an in-process LRU when REDIS_URL is unset.
import { LRUCache } from 'lru-cache';

export interface KeyValueStore {
  readonly kind: 'redis' | 'memory';
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string, ttlMs: number): Promise<void>;
  /** Sets the key only when it is absent; true when this call set it. */
  setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean>;
  /** Resets the key's time to live only while it still holds `value` (renewing a lock one owns). */
  extendIfEquals(key: string, value: string, ttlMs: number): Promise<boolean>;
  /** Deletes the key only while it still holds `value` (releasing a lock one owns). */
  deleteIfEquals(key: string, value: string): Promise<boolean>;
  delete(key: string): Promise<void>;
  /** Throws when the backend does not answer. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export class MemoryKeyValueStore implements KeyValueStore {
  readonly kind = 'memory';
  private readonly lru: LRUCache<string, string>;

  constructor(maxEntries = 10_000) {
    this.lru = new LRUCache<string, string>({ max: maxEntries, ttlAutopurge: false });
  }

  async get(key: string): Promise<string | undefined> {
    return this.lru.get(key);
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    this.lru.set(key, value, { ttl: Math.max(1, ttlMs) });
  }

  async setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean> {
    if (this.lru.has(key)) return false;
    this.lru.set(key, value, { ttl: Math.max(1, ttlMs) });
    return true;
  }

  async extendIfEquals(key: string, value: string, ttlMs: number): Promise<boolean> {
    if (this.lru.get(key) !== value) return false;
    this.lru.set(key, value, { ttl: Math.max(1, ttlMs) });
    return true;
  }

  async deleteIfEquals(key: string, value: string): Promise<boolean> {
    if (this.lru.get(key) !== value) return false;
    this.lru.delete(key);
    return true;
  }

  async delete(key: string): Promise<void> {
    this.lru.delete(key);
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    this.lru.clear();
  }
}
