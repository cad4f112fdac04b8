/**
 * @module The webhook replay guard: the first delivery of a signed payload claims its replay key
 * (webhook.ts makes the key from the verified signature, canonical); a replay within the window is
 * counted (wafgen_webhook_replays_total) and answered 200 with `duplicate: true` and a skipped
 * entry that says why, as a no-op: a sender that retries a delivery it already got through (GitHub's
 * "Redeliver", a relay's retry after a lost answer) sees success and stops, and nothing is queued
 * twice.
 *
 * Where the keys live: with Redis, in Redis (SET NX PX, so every replica sees them and the first
 * claim wins atomically); on the embedded backend, in a bounded in-process map of its own (not the
 * shared cache LRU, where cached rules would evict the markers). When the map is full of markers
 * still inside their window, or Redis does not answer, the delivery is refused with 503 and
 * Retry-After rather than let through unguarded: a replay guard that cannot answer lets replays in.
 */
import { LRUCache } from 'lru-cache';
import type { Logger } from 'pino';

import type { Service } from '../app/index.js';
import { ApiError } from './errors.js';
import type { ApiMetrics } from './metrics.js';
import type { SignatureCheck } from './webhook.js';

type KeyValueStore = Service['kv'];

/**
 * Markers the embedded backend keeps at most: every one needs a verified delivery, so only a sender
 * holding the secret fills it (100,000 within a window is ~166 per second for 10 minutes, or ~1.2
 * per second for GitHub's day); about 150 bytes each, 15 MB when full.
 */
export const MEMORY_REPLAY_MAX_ENTRIES = 100_000;

/** What a granted claim can do: give the delivery back when processing it failed. */
export interface ReplayClaim {
  /** Forgets the delivery so that the sender's retry is processed; never throws. */
  release(): Promise<void>;
}

interface ReplayStore {
  /** True when this call set the key (first delivery); false when it was already there. */
  claim(key: string, value: string, ttlMs: number): Promise<boolean>;
  release(key: string, value: string): Promise<void>;
}

class MemoryReplayStore implements ReplayStore {
  private readonly seen: LRUCache<string, string>;

  constructor(private readonly max: number) {
    this.seen = new LRUCache<string, string>({ max, ttlAutopurge: false });
  }

  async claim(key: string, value: string, ttlMs: number): Promise<boolean> {
    // has() and set() run in one turn of the event loop: two identical deliveries cannot both claim.
    if (this.seen.has(key)) return false;
    if (this.seen.size >= this.max) {
      this.seen.purgeStale();
      if (this.seen.size >= this.max)
        throw unavailable(
          `the replay memory holds ${this.max} deliveries still inside their window; retry later or configure Redis (REDIS_URL)`,
        );
    }
    this.seen.set(key, value, { ttl: Math.max(1, ttlMs) });
    return true;
  }

  async release(key: string, value: string): Promise<void> {
    if (this.seen.get(key) === value) this.seen.delete(key);
  }
}

class RedisReplayStore implements ReplayStore {
  constructor(private readonly kv: KeyValueStore) {}

  claim(key: string, value: string, ttlMs: number): Promise<boolean> {
    return this.kv.setIfAbsent(key, value, ttlMs);
  }

  async release(key: string, value: string): Promise<void> {
    await this.kv.deleteIfEquals(key, value);
  }
}

function unavailable(message: string): ApiError {
  return new ApiError(503, 'replay_guard_unavailable', message, undefined, { 'Retry-After': '5' });
}

/** One memory store per service (its key-value store), alive as long as the service. */
const memoryStores = new WeakMap<KeyValueStore, ReplayStore>();

function storeFor(kv: KeyValueStore, maxEntries: number): ReplayStore {
  if (kv.kind === 'redis') return new RedisReplayStore(kv);
  let store = memoryStores.get(kv);
  if (!store) {
    store = new MemoryReplayStore(maxEntries);
    memoryStores.set(kv, store);
  }
  return store;
}

export interface ReplayGuardDeps {
  metrics: Pick<ApiMetrics, 'webhookReplays'>;
  log: Pick<Logger, 'info' | 'warn'>;
  /** Cap of the embedded backend's memory (tests); default MEMORY_REPLAY_MAX_ENTRIES. */
  maxEntries?: number;
}

/**
 * Claims a verified delivery. Returns the claim when this is its first delivery within the window,
 * undefined when it is a replay (counted and logged). Throws ApiError 503 when the store cannot say.
 */
export async function claimDelivery(
  kv: KeyValueStore,
  check: SignatureCheck,
  deps: ReplayGuardDeps,
): Promise<ReplayClaim | undefined> {
  const store = storeFor(kv, deps.maxEntries ?? MEMORY_REPLAY_MAX_ENTRIES);
  const value = `${check.deliveryId ?? check.scheme}:${globalThis.crypto.randomUUID()}`;
  let claimed: boolean;
  try {
    claimed = await store.claim(check.replayKey, value, check.replayTtlMs);
  } catch (e) {
    if (e instanceof ApiError) throw e;
    deps.log.warn({ err: e instanceof Error ? e.message : String(e) }, 'webhook replay guard unavailable');
    throw unavailable('the webhook replay guard cannot reach its store; retry later');
  }
  if (!claimed) {
    deps.metrics.webhookReplays.inc({ scheme: check.scheme });
    deps.log.info(
      { scheme: check.scheme, ...(check.deliveryId ? { deliveryId: check.deliveryId } : {}) },
      'webhook replay refused',
    );
    return undefined;
  }
  return {
    release: () =>
      store.release(check.replayKey, value).catch((e: unknown) => {
        deps.log.warn(
          { err: e instanceof Error ? e.message : String(e) },
          'webhook replay marker could not be released',
        );
      }),
  };
}

/** The 200 answer to a replay: nothing queued, and why. */
export function duplicateDelivery(format: 'generic' | 'github', check: SignatureCheck) {
  const what = check.scheme === 'github' ? 'body, signed the same' : 'timestamp and body, signed the same';
  return {
    queued: false,
    format,
    jobs: [],
    skipped: [
      {
        reason: `replay: the same ${what}, was received within the last ${Math.round(check.replayTtlMs / 1000)} s; nothing was queued again`,
      },
    ],
    duplicate: true,
  };
}
