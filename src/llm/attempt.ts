/** @module One call to one provider, as failover reports it. */
import type { ProviderName } from './providers.js';

export type FailureKind =
  /** The per-call timeout fired (headers or body too slow). */
  | 'timeout'
  /** 429. */
  | 'rate-limited'
  /** 5xx, 408, 409: the provider's trouble. */
  | 'server'
  /** Connection refused or reset, DNS, TLS. */
  | 'network'
  /** 401, 403: bad or missing key. */
  | 'auth'
  /** Other 4xx: the request itself is wrong for this provider. */
  | 'bad-request'
  /** The model answered but not with JSON matching the schema. */
  | 'invalid-output'
  /** The provider's circuit breaker is open: skipped without a request. */
  | 'circuit-open'
  /** The rule's budget refused the call: skipped without a request. */
  | 'budget'
  /** Missing credentials or settings discovered at call time. */
  | 'config'
  | 'other';

export interface Attempt {
  provider: ProviderName;
  model: string;
  ok: boolean;
  /** Scrubbed one-line reason, when !ok. */
  error?: string;
  kind?: FailureKind;
  /** The provider declined to answer (errors.ts ProviderRefused): an `invalid-output`, not a malformed answer. */
  refused?: true;
  status?: number;
  /** Wall time of the attempt; 0 for providers skipped without a request. */
  ms: number;
}
