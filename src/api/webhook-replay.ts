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
 * per second for GitHub's day). Measured (node --expose-gc, heapUsed around 100,000 claimDelivery
 * calls with GitHub-shaped keys): 150 bytes a marker, 18 MB when full, 3 MB of it allocated on the
 * first claim; with a `deliveryId:uuid` string as the value it was 694 bytes, so this store keeps a
 * counter and only Redis gets the descriptive value. A claim on a full map purges what expired
 * (55-80 ms over 100,000 markers, so at most once a second) before it refuses.
 */
export const MEMORY_REPLAY_MAX_ENTRIES = 100_000;

/** What a granted claim can do: give the delivery back when processing it failed. */
export interface ReplayClaim {
  /** Forgets the delivery so that the sender's retry is processed; never throws. */
  release(): Promise<void>;
}

interface ReplayStore {
  /**
   * Sets the key when it is absent (first delivery) and returns what it holds, the token that
   * release takes; undefined when the key was already there (a replay).
   */
  claim(key: string, label: string, ttlMs: number): Promise<string | undefined>;
  release(key: string, token: string): Promise<void>;
}

class MemoryReplayStore implements ReplayStore {
  private readonly seen: LRUCache<string, number>;
  private seq = 0;
  private lastPurge = 0;

  constructor(private readonly max: number) {
    this.seen = new LRUCache<string, number>({ max, ttlAutopurge: false });
  }

  async claim(key: string, _label: string, ttlMs: number): Promise<string | undefined> {
    // has() and set() run in one turn of the event loop: two identical deliveries cannot both claim.
    if (this.seen.has(key)) return undefined;
    if (this.seen.size >= this.max) {
      // A purge walks every marker: at most one a second, so a burst at the limit does not stall.
      const now = Date.now();
      if (now - this.lastPurge >= 1000) {
        this.lastPurge = now;
        this.seen.purgeStale();
      }
      if (this.seen.size >= this.max)
        throw unavailable(
          `the replay memory holds ${this.max} deliveries still inside their window; retry later or configure Redis (REDIS_URL)`,
        );
    }
    const token = ++this.seq;
    this.seen.set(key, token, { ttl: Math.max(1, ttlMs) });
    return String(token);
  }

  async release(key: string, token: string): Promise<void> {
    // eslint-disable-next-line security/detect-possible-timing-attacks -- the release token is the one this process's claim minted, not a caller's secret
    if (String(this.seen.get(key)) === token) this.seen.delete(key);
  }
}

class RedisReplayStore implements ReplayStore {
  constructor(private readonly kv: KeyValueStore) {}

  async claim(key: string, label: string, ttlMs: number): Promise<string | undefined> {
    const token = `${label}:${globalThis.crypto.randomUUID()}`;
    return (await this.kv.setIfAbsent(key, token, ttlMs)) ? token : undefined;
  }

  async release(key: string, token: string): Promise<void> {
    await this.kv.deleteIfEquals(key, token);
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
  let token: string | undefined;
  try {
    token = await store.claim(check.replayKey, check.deliveryId ?? check.scheme, check.replayTtlMs);
  } catch (e) {
    if (e instanceof ApiError) throw e;
    deps.log.warn({ err: e instanceof Error ? e.message : String(e) }, 'webhook replay guard unavailable');
    throw unavailable('the webhook replay guard cannot reach its store; retry later');
  }
  // eslint-disable-next-line security/detect-possible-timing-attacks -- a check for no token (undefined), not a secret comparison
  if (token === undefined) {
    deps.metrics.webhookReplays.inc({ scheme: check.scheme });
    deps.log.info(
      { scheme: check.scheme, ...(check.deliveryId ? { deliveryId: check.deliveryId } : {}) },
      'webhook replay refused',
    );
    return undefined;
  }
  return {
    release: () =>
      store.release(check.replayKey, token).catch((e: unknown) => {
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
