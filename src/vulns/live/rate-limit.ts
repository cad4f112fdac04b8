// A sliding-window rate limiter: at most `limit` requests start in any rolling `windowMs`. NVD states
// its limits exactly that way (5 requests per rolling 30 s without an API key, 50 with one), so a
// token bucket, which allows a burst on top of its refill rate, could exceed them; this cannot.
//
// Callers are served first come, first served: `acquire` calls queue behind one another, each
// waiting until the oldest start in the window leaves it. Retries acquire again, so they count too.

import { type Clock, systemClock } from './clock.js';

export class SlidingWindowLimiter {
  /** Start times of the requests granted within the window, oldest first. */
  readonly #starts: number[] = [];
  #queue: Promise<void> = Promise.resolve();

  constructor(
    readonly limit: number,
    readonly windowMs: number,
    private readonly clock: Clock = systemClock,
  ) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError('limit must be a positive integer');
    if (!(windowMs > 0)) throw new RangeError('windowMs must be positive');
  }

  /** Resolves when one more request may start (and counts it); rejects if `signal` aborts first. */
  acquire(signal?: AbortSignal): Promise<void> {
    const turn = this.#queue.then(() => this.#take(signal));
    this.#queue = turn.catch(() => {}); // an aborted waiter must not stall the ones behind it
    return turn;
  }

  /** Milliseconds until a request could start if one were asked for now (0: at once). */
  waitMs(): number {
    const now = this.clock.now();
    this.#expire(now);
    if (this.#starts.length < this.limit) return 0;
    return this.#starts[0]! + this.windowMs - now;
  }

  #expire(now: number): void {
    while (this.#starts.length > 0 && this.#starts[0]! <= now - this.windowMs) this.#starts.shift();
  }

  async #take(signal: AbortSignal | undefined): Promise<void> {
    for (;;) {
      signal?.throwIfAborted();
      const wait = this.waitMs();
      if (wait <= 0) {
        this.#starts.push(this.clock.now());
        return;
      }
      await this.clock.sleep(wait, signal);
    }
  }
}
