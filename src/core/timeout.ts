/**
 * @module A deadline on a promise, with cockatiel's aggressive timeout policy: the caller gets a
 * TimeoutError naming what took too long; the work itself is not cancelled (it cannot be).
 */
import { TaskCancelledError, timeout, TimeoutStrategy } from 'cockatiel';

class TimeoutError extends Error {
  override name = 'TimeoutError';
}

export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  try {
    return await timeout(ms, TimeoutStrategy.Aggressive).execute(() => promise);
  } catch (e) {
    if (e instanceof TaskCancelledError) throw new TimeoutError(`${what} took longer than ${ms} ms`);
    throw e;
  }
}
