// A typed JSON cache over a key-value store, and the one key format the whole service uses for
// rules: `waf-rule:<CVE>:<engine/model version>`.
import type { KeyValueStore } from './kv.js';

export function ruleCacheKey(cveId: string, engineVersion: string): string {
  return `waf-rule:${cveId.toUpperCase()}:${engineVersion}`;
}

export class JsonCache<T> {
  constructor(
    readonly kv: KeyValueStore,
    /** Default time to live, in milliseconds. */
    readonly ttlMs: number,
    /** Checks what comes back (another version of wafgen may have written it); undefined = discard. */
    private readonly accept: (value: unknown) => T | undefined = (v) => v as T,
  ) {}

  get kind(): KeyValueStore['kind'] {
    return this.kv.kind;
  }

  async get(key: string): Promise<T | undefined> {
    const text = await this.kv.get(key);
    if (text === undefined) return undefined;
    try {
      return this.accept(JSON.parse(text));
    } catch {
      return undefined;
    }
  }

  async set(key: string, value: T, ttlMs = this.ttlMs): Promise<void> {
    await this.kv.set(key, JSON.stringify(value), ttlMs);
  }

  async delete(key: string): Promise<void> {
    await this.kv.delete(key);
  }
}
