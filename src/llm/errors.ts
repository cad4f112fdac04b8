// What went wrong with an LLM call, in the terms failover decides on: retry it, count it against
// the provider's circuit breaker, or just move on to the next provider.
import {
  APICallError,
  JSONParseError,
  LoadAPIKeyError,
  LoadSettingError,
  NoObjectGeneratedError,
  NoOutputGeneratedError,
  TypeValidationError,
} from 'ai';
import { BrokenCircuitError, TaskCancelledError } from 'cockatiel';

import { BudgetExceeded } from './budget.js';
import type { Attempt, FailureKind } from './attempt.js';

export type { Attempt, FailureKind };
import { NoAwsCredentialsError } from './registry.js';

export interface Classified {
  kind: FailureKind;
  status?: number;
  /** From Retry-After / retry-after-ms on a 429 or 503. */
  retryAfterMs?: number;
}

/** Transient: worth another attempt at the same provider. */
export const RETRYABLE: ReadonlySet<FailureKind> = new Set(['timeout', 'rate-limited', 'server', 'network']);
/** Says something about the provider's health: counts towards opening its breaker. */
export const BREAKER_FAILURES: ReadonlySet<FailureKind> = new Set([
  'timeout',
  'rate-limited',
  'server',
  'network',
  'auth',
]);

/** Milliseconds from Retry-After (seconds or an HTTP date) or OpenAI's retry-after-ms. */
function retryAfterMs(headers: Record<string, string> | undefined, now = Date.now()): number | undefined {
  if (!headers) return undefined;
  const ms = headers['retry-after-ms'];
  if (ms !== undefined && ms.trim() !== '' && Number.isFinite(Number(ms))) return Math.max(0, Number(ms));
  const ra = headers['retry-after'];
  if (ra === undefined || ra.trim() === '') return undefined;
  if (/^\s*\d+(\.\d+)?\s*$/.test(ra)) return Math.max(0, Number(ra) * 1000);
  const date = Date.parse(ra);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

function hasNetworkCause(err: unknown, depth = 0): boolean {
  if (!err || typeof err !== 'object' || depth > 4) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return true;
  if (err instanceof TypeError && /fetch failed|terminated|other side closed/i.test(err.message)) return true;
  return hasNetworkCause((err as { cause?: unknown }).cause, depth + 1);
}

export function classify(err: unknown): Classified {
  if (err instanceof BudgetExceeded) return { kind: 'budget' };
  // Not cockatiel's isTaskCancelledError / isIsolatedCircuitError: in 3.2.1 both test for the
  // bulkhead's marker property and never match. (IsolatedCircuitError extends BrokenCircuitError.)
  if (err instanceof BrokenCircuitError) return { kind: 'circuit-open' };
  if (err instanceof TaskCancelledError) return { kind: 'timeout' };
  if (APICallError.isInstance(err)) {
    const status = err.statusCode;
    if (status === undefined) return { kind: err.isRetryable || hasNetworkCause(err) ? 'network' : 'other' };
    if (status === 429) {
      const after = retryAfterMs(err.responseHeaders);
      return { kind: 'rate-limited', status, ...(after !== undefined ? { retryAfterMs: after } : {}) };
    }
    if (status === 401 || status === 403) return { kind: 'auth', status };
    if (status >= 500 || status === 408 || status === 409) {
      const after = status === 503 ? retryAfterMs(err.responseHeaders) : undefined;
      return { kind: 'server', status, ...(after !== undefined ? { retryAfterMs: after } : {}) };
    }
    return { kind: 'bad-request', status };
  }
  if (
    err instanceof ProviderRefused ||
    NoObjectGeneratedError.isInstance(err) ||
    NoOutputGeneratedError.isInstance(err) ||
    TypeValidationError.isInstance(err) ||
    JSONParseError.isInstance(err)
  )
    return { kind: 'invalid-output' };
  if (
    LoadAPIKeyError.isInstance(err) ||
    LoadSettingError.isInstance(err) ||
    err instanceof NoAwsCredentialsError
  )
    return { kind: 'config' };
  // @ai-sdk/amazon-bedrock rewraps credential failures in a plain Error.
  if (
    err instanceof Error &&
    /^AWS (credential provider failed|SigV4 authentication requires)/.test(err.message)
  )
    return { kind: 'config' };
  if (err instanceof Error && (err.name === 'AbortError' || err.name === 'TimeoutError'))
    return { kind: 'timeout' };
  if (hasNetworkCause(err)) return { kind: 'network' };
  return { kind: 'other' };
}

/**
 * The provider's own refusal: an answer it says it filtered or declined (OpenAI's `message.refusal`
 * or Responses `refusal` part, `finish_reason: "content_filter"`, Anthropic's `stop_reason:
 * "refusal"`, Gemini's `SAFETY` and kin, Bedrock's `content_filtered` or `guardrail_intervened`;
 * the AI SDK maps each to the finish reason `content-filter`). Failover throws it whatever text came
 * with it (a refusal's words, or output a guardrail masked). It is an `invalid-output` attempt:
 * moved on from at once, not retried, not held against the breaker (the provider is up; it will not
 * write this rule), its tokens billed.
 */
export class ProviderRefused extends Error {
  constructor(
    readonly finishReason: string,
    /** What the provider said instead, if anything (capped). */
    readonly said = '',
  ) {
    const text = said.replace(/\s+/g, ' ').trim().slice(0, 120);
    super(`refused by the provider (finish reason ${finishReason})${text ? `: ${text}` : ''}`);
    this.name = 'ProviderRefused';
  }
}

/** Replaces secret values and anything shaped like a provider key with [redacted]. */
function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) out = out.split(s).join('[redacted]');
  return out
    .replace(/\b(sk|rk|pk)-[A-Za-z0-9_-]{8,}/g, '[redacted]')
    .replace(/\bsk-ant-[A-Za-z0-9_-]{8,}/g, '[redacted]')
    .replace(/\bAIza[0-9A-Za-z_-]{20,}/g, '[redacted]')
    .replace(/\b(AKIA|ASIA)[0-9A-Z]{12,}/g, '[redacted]')
    .replace(/(Bearer\s+)[^\s"',;]+/gi, '$1[redacted]');
}

/** A one-line description safe to log: kind, status, the error's own message, scrubbed, capped. */
export function describe(err: unknown, c: Classified, secrets: readonly string[]): string {
  const raw = err instanceof Error ? err.message : String(err);
  const message = redact(raw.replace(/\s+/g, ' ').trim(), secrets);
  const head = c.status !== undefined ? `${c.kind} ${c.status}` : c.kind;
  const capped = message.length > 300 ? `${message.slice(0, 297)}...` : message;
  return capped ? `${head}: ${capped}` : head;
}

export class AllProvidersFailed extends Error {
  constructor(readonly attempts: Attempt[]) {
    const byProvider = new Map<string, string[]>();
    for (const a of attempts) {
      const list = byProvider.get(a.provider) ?? [];
      list.push(a.status !== undefined ? `${a.kind} ${a.status}` : (a.kind ?? 'error'));
      byProvider.set(a.provider, list);
    }
    const summary = [...byProvider].map(([p, kinds]) => `${p} (${kinds.join(', ')})`).join('; ');
    super(attempts.length === 0 ? 'no LLM provider is configured' : `every LLM provider failed: ${summary}`);
    this.name = 'AllProvidersFailed';
  }
}
