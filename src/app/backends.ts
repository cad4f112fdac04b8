/** @module Whether an error means a backend (PostgreSQL, Redis, the embedded store) cannot be used now: one place for every entry point. */
import type { Config } from '../config/index.js';
import { BackendUnavailableError } from '../core/backend-error.js';
import { redisUnavailable } from '../kv/unavailable.js';

export { probeRedis } from '../kv/unavailable.js';
import { StoreBusyError } from '../store/db.js';
import { DynamoUnavailableError } from '../store/dynamodb/unavailable.js';
import { postgresUnavailable } from '../store/errors.js';

/**
 * The error to report when `error` says a configured backend cannot be reached or used: a
 * {@link BackendUnavailableError} for PostgreSQL (DATABASE_URL) or Redis (REDIS_URL), the DynamoDB
 * store's DynamoUnavailableError (WAFGEN_STORE=dynamodb), or the embedded store's StoreBusyError (its folder is open in another process); undefined for any other
 * error. Each message is one line without credentials. The CLI exits 5 on these.
 */
export function backendUnavailable(
  error: unknown,
  config: Partial<Pick<Config, 'DATABASE_URL' | 'REDIS_URL'>>,
): Error | undefined {
  if (
    error instanceof BackendUnavailableError ||
    error instanceof StoreBusyError ||
    error instanceof DynamoUnavailableError
  )
    return error;
  return (
    (config.DATABASE_URL ? postgresUnavailable(error, config.DATABASE_URL) : undefined) ??
    (config.REDIS_URL ? redisUnavailable(error, config.REDIS_URL) : undefined)
  );
}
