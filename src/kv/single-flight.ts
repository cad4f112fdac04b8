// Single flight: a burst of identical requests runs the work once. In one process a promise map
// joins callers to the computation under way; across replicas a short lock in the shared key-value
// store (SET NX PX with a random token, released only by its owner) makes the others wait for the
// owner's result to appear in the cache instead of computing it again.
import { randomUUID } from 'node:crypto';

import type { KeyValueStore } from './kv.js';

export interface SingleFlightOptions<T> {
  /**
   * Lock time to live. The owner renews it while it works, so it only bounds how long a crashed
   * owner (a killed process) keeps the others waiting.
   */
  lockTtlMs: number;
  /** How long a waiter waits for another replica's result before computing itself. */
  waitMs: number;
  /** Poll interval while waiting for another replica (default 50 ms). */
  pollMs?: number;
  /** Reads the shared result (the cache) while waiting; a value ends the wait. */
  peek: () => Promise<T | undefined>;
}

export interface FlightResult<T> {
  value: T;
  /** joined: another caller in this process ran it; waited: another replica did; ran: this call did. */
  how: 'ran' | 'joined' | 'waited';
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class SingleFlight {
  private readonly inflight = new Map<string, Promise<FlightResult<unknown>>>();

  constructor(
    /** The shared store for cross-replica locks; a memory store makes this process-local only. */
    private readonly kv: KeyValueStore,
  ) {}

  get size(): number {
    return this.inflight.size;
  }

  async run<T>(key: string, work: () => Promise<T>, opts: SingleFlightOptions<T>): Promise<FlightResult<T>> {
    const existing = this.inflight.get(key) as Promise<FlightResult<T>> | undefined;
    if (existing) return { ...(await existing), how: 'joined' };
    const flight = this.fly(key, work, opts);
    this.inflight.set(key, flight);
    try {
      return await flight;
    } finally {
      this.inflight.delete(key);
    }
  }

  private async fly<T>(
    key: string,
    work: () => Promise<T>,
    opts: SingleFlightOptions<T>,
  ): Promise<FlightResult<T>> {
    if (this.kv.kind === 'memory') return { value: await work(), how: 'ran' };
    const lockKey = `lock:${key}`;
    const token = randomUUID();
    const deadline = Date.now() + opts.waitMs;
    for (;;) {
      let acquired: boolean;
      try {
        acquired = await this.kv.setIfAbsent(lockKey, token, opts.lockTtlMs);
      } catch {
        // The shared store is away: run locally (the promise map still joins this process's callers).
        return { value: await work(), how: 'ran' };
      }
      if (acquired) {
        const renew = setInterval(
          () => void this.kv.extendIfEquals(lockKey, token, opts.lockTtlMs).catch(() => {}),
          Math.max(100, Math.floor(opts.lockTtlMs / 3)),
        );
        renew.unref();
        try {
          return { value: await work(), how: 'ran' };
        } finally {
          clearInterval(renew);
          await this.kv.deleteIfEquals(lockKey, token).catch(() => {});
        }
      }
      // Someone else holds it: wait for their result, or for the lock to go away.
      while (Date.now() < deadline) {
        await sleep(opts.pollMs ?? 50);
        const value = await opts.peek().catch(() => undefined);
        if (value !== undefined) return { value, how: 'waited' };
        const holder = await this.kv.get(lockKey).catch(() => undefined);
        if (holder === undefined) break; // released without a result (it failed): try to take it
      }
      if (Date.now() >= deadline) return { value: await work(), how: 'ran' };
    }
  }
}
