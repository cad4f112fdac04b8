/** @module The Redis errors that mean the server cannot be reached, as one BackendUnavailableError. */
import { BackendUnavailableError, connectErrorTo, endpointOf } from '../core/backend-error.js';

const REDIS_PORT = 6379;

/**
 * ioredis's own errors (no code) that mean there is no usable connection: the fail-fast clients
 * (src/kv/redis.ts) answer "Stream isn't writeable" while they are not connected, a client that has
 * given up says "Connection is closed.", and a command that never got an answer times out. Replies
 * that refuse the login count too. Matched by their fixed start, never shown.
 */
const REDIS_CONNECTION_MESSAGES: readonly [RegExp, string][] = [
  [/^Stream isn't writeable/, 'not connected'],
  [/^Connection is closed\.?$/, 'connection closed'],
  [/^Reached the max retries per request limit/, 'not answering'],
  [/^Command timed out$/, 'not answering'],
  [/^NOAUTH\b/, 'authentication required'],
  [/^WRONGPASS\b/, 'authentication failed'],
  [/^LOADING\b/, 'loading its data set'],
];

/**
 * A {@link BackendUnavailableError} when `error` says the Redis server at `redisUrl` could not be
 * reached or used, else undefined. Network errors count only when they name that server's port or
 * host. The message holds host:port and a code or fixed phrase, never the URL's password.
 */
export function redisUnavailable(error: unknown, redisUrl: string): BackendUnavailableError | undefined {
  if (error instanceof BackendUnavailableError) return error;
  const endpoint = (reason: string) =>
    new BackendUnavailableError('Redis', endpointOf(redisUrl, REDIS_PORT), reason);
  const net = connectErrorTo(error, redisUrl, REDIS_PORT);
  if (net) return endpoint(net);
  if (error instanceof Error) {
    for (const [re, phrase] of REDIS_CONNECTION_MESSAGES) if (re.test(error.message)) return endpoint(phrase);
  }
  return undefined;
}

/**
 * Why Redis at `redisUrl` does not answer, by a connection of its own that tries once (the
 * service's clients keep retrying and only say "not connected"): a {@link BackendUnavailableError}
 * with the socket's code (ECONNREFUSED, ENOTFOUND) or the refused login, or undefined when it
 * answers PING within `timeoutMs`.
 */
export async function probeRedis(
  redisUrl: string,
  timeoutMs = 2000,
): Promise<BackendUnavailableError | undefined> {
  const { Redis } = await import('ioredis');
  let socketError: unknown;
  const client = new Redis(redisUrl, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
  });
  client.on('error', (e: unknown) => (socketError ??= e));
  try {
    await client.connect();
    await client.ping();
    return undefined;
  } catch (error) {
    return (
      redisUnavailable(socketError, redisUrl) ??
      redisUnavailable(error, redisUrl) ??
      new BackendUnavailableError('Redis', endpointOf(redisUrl, REDIS_PORT), 'not answering')
    );
  } finally {
    client.disconnect();
  }
}
