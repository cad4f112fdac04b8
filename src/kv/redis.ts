// Redis connections for the cache, locks and rate limits. They fail fast when Redis is away (no
// offline queue, one retry, a command timeout) so that a request falls back to the store instead of
// waiting, and they reconnect in the background so the service recovers by itself.
import { Redis, type RedisOptions } from 'ioredis';

import type { KeyValueStore } from './kv.js';

export interface RedisConnectOptions {
  /** Prefix for every key (ioredis keyPrefix); '' for none. */
  keyPrefix?: string;
  /** Milliseconds a command may take before it fails (default 1000). */
  commandTimeoutMs?: number;
  /** A name shown by CLIENT LIST. */
  connectionName?: string;
  /** Called on connection state changes ('ready', 'error: ...', 'end'). */
  onState?: (state: string) => void;
}

/** ioredis options for a fail-fast client (request paths). */
function failFastOptions(opts: RedisConnectOptions = {}): RedisOptions {
  return {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: opts.commandTimeoutMs ?? 1000,
    connectTimeout: 2000,
    enableAutoPipelining: true,
    // Keep reconnecting, at most every two seconds: Redis coming back must heal the service.
    retryStrategy: (times: number) => Math.min(100 * times, 2000),
    ...(opts.keyPrefix ? { keyPrefix: opts.keyPrefix } : {}),
    ...(opts.connectionName ? { connectionName: opts.connectionName } : {}),
  };
}

/**
 * A connected client, or, when Redis does not answer within `waitMs`, a client still trying in
 * the background (callers see failing commands and degrade until it connects).
 */
export async function connectRedis(
  url: string,
  opts: RedisConnectOptions = {},
  waitMs = 2000,
): Promise<Redis> {
  const client = new Redis(url, failFastOptions(opts));
  let lastState = '';
  const report = (state: string): void => {
    if (state !== lastState) opts.onState?.(state);
    lastState = state;
  };
  client.on('ready', () => report('ready'));
  client.on('error', (e: Error) => report(`error: ${e.message}`));
  client.on('end', () => report('end'));
  await Promise.race([
    client.connect().catch(() => {}),
    new Promise((resolve) => setTimeout(resolve, waitMs).unref()),
  ]);
  return client;
}

const EXTEND_IF_EQUALS = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
const DELETE_IF_EQUALS = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

export class RedisKeyValueStore implements KeyValueStore {
  readonly kind = 'redis';

  constructor(
    readonly client: Redis,
    private readonly ownsClient = true,
  ) {}

  async get(key: string): Promise<string | undefined> {
    return (await this.client.get(key)) ?? undefined;
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    await this.client.set(key, value, 'PX', Math.max(1, Math.round(ttlMs)));
  }

  async setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean> {
    return (await this.client.set(key, value, 'PX', Math.max(1, Math.round(ttlMs)), 'NX')) === 'OK';
  }

  async extendIfEquals(key: string, value: string, ttlMs: number): Promise<boolean> {
    return (
      Number(await this.client.eval(EXTEND_IF_EQUALS, 1, key, value, Math.max(1, Math.round(ttlMs)))) === 1
    );
  }

  async deleteIfEquals(key: string, value: string): Promise<boolean> {
    return Number(await this.client.eval(DELETE_IF_EQUALS, 1, key, value)) === 1;
  }

  async delete(key: string): Promise<void> {
    await this.client.del(key);
  }

  async ping(): Promise<void> {
    await this.client.ping();
  }

  async close(): Promise<void> {
    if (!this.ownsClient) return;
    await this.client.quit().catch(() => this.client.disconnect());
  }
}
