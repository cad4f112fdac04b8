/** @module DynamoDB that cannot be used now (unreachable, credentials refused, table missing, throttled), as one error the CLI (exit 5) and the API (503 store_unavailable) recognise. */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';

import { connectErrorTo, endpointOf } from '../../core/backend-error.js';

/** The message holds host:port and an error name or code, never credentials nor the service's text. */
export class DynamoUnavailableError extends Error {
  override name = 'DynamoUnavailableError';
  constructor(
    readonly endpoint: string,
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(`cannot reach DynamoDB at ${endpoint} (${reason})`, options);
  }
}

/** Error names of the SDK and the service that mean DynamoDB cannot be used now, with the phrase shown. */
const UNAVAILABLE_NAMES: Readonly<Record<string, string>> = {
  UnrecognizedClientException: 'credentials refused',
  InvalidSignatureException: 'credentials refused',
  ExpiredTokenException: 'credentials expired',
  AccessDeniedException: 'access denied',
  CredentialsProviderError: 'no credentials',
  ResourceNotFoundException: 'table not found',
  ProvisionedThroughputExceededException: 'throttled',
  ThrottlingException: 'throttled',
  RequestLimitExceeded: 'throttled',
  InternalServerError: 'service error',
  ServiceUnavailable: 'service unavailable',
  TimeoutError: 'timed out',
};

/** The DynamoDBUnavailableError that `error` amounts to at `url`, or undefined for any other error. */
function classify(error: unknown, url: string): DynamoUnavailableError | undefined {
  if (error instanceof DynamoUnavailableError) return error;
  const endpoint = endpointOf(url, 443);
  const net = connectErrorTo(error, url, 443);
  if (net) return new DynamoUnavailableError(endpoint, net, { cause: error });
  const name = (error as { name?: unknown } | null)?.name;
  const phrase = typeof name === 'string' ? UNAVAILABLE_NAMES[name] : undefined;
  return phrase
    ? new DynamoUnavailableError(endpoint, `${phrase}, ${String(name)}`, { cause: error })
    : undefined;
}

/** Every command of `client` (and of document clients over it) fails with DynamoUnavailableError where that applies. */
export function reportUnavailable(client: DynamoDBClient, url: string): void {
  client.middlewareStack.add(
    (next) => async (args) => {
      try {
        return await next(args);
      } catch (error) {
        throw classify(error, url) ?? error;
      }
    },
    { step: 'initialize', name: 'wafgenDynamoUnavailable' },
  );
}
