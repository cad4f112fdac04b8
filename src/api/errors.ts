// Every error the API answers is JSON `{ error: { code, message, fields?, details? } }` with a
// stable code. Bad input is a 4xx naming the failing fields; no rule for a CVE is a 422 whose
// details say what the engine recognised and what it needs; only a bug in wafgen is a 500, and its
// message says nothing about internals (the log has them, under the request id).
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { ZodError } from 'zod';

import { BackendUnavailableError } from '../core/backend-error.js';
import { InputError } from '../core/errors.js';
import { inputLimitErrorOf } from '../core/limits.js';
import { GenerationFailedError, NoRuleError, QueueUnavailableError } from '../app/index.js';

export const ERROR_CODES = [
  'invalid_request',
  'malformed_json',
  'unsupported_media_type',
  'payload_too_large',
  'input_limit',
  'unauthorized',
  'auth_unavailable',
  'forbidden',
  'not_found',
  'method_not_allowed',
  'rate_limited',
  'invalid_signature',
  'generation_failed',
  'no_rule',
  'queue_unavailable',
  'not_configured',
  'deploy_refused',
  'deploy_failed',
  'replay_guard_unavailable',
  'store_unavailable',
  'cache_unavailable',
  'internal',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export interface FieldError {
  /** Dotted path of the failing field (`cveIds.3`), or the header/parameter name. */
  path: string;
  message: string;
}

export interface ErrorBody {
  error: {
    code: ErrorCode;
    message: string;
    fields?: FieldError[];
    /** Facts that go with the error (for no_rule: what the engine recognised and needs). */
    details?: Record<string, unknown>;
    requestId?: string;
  };
}

export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: ErrorCode,
    message: string,
    readonly fields?: FieldError[],
    readonly headers?: Record<string, string>,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

export function zodFields(error: ZodError, prefix?: string): FieldError[] {
  return error.issues.map((i) => ({
    path: [...(prefix ? [prefix] : []), ...i.path.map(String)].join('.') || '(body)',
    message: i.message,
  }));
}

export function errorBody(
  c: Context,
  code: ErrorCode,
  message: string,
  fields?: FieldError[],
  details?: Record<string, unknown>,
): ErrorBody {
  const requestId = c.get('requestId' as never) as string | undefined;
  return {
    error: {
      code,
      message,
      ...(fields && fields.length > 0 ? { fields } : {}),
      ...(details ? { details } : {}),
      ...(requestId ? { requestId } : {}),
    },
  };
}

export function sendError(c: Context, err: ApiError): Response {
  for (const [k, v] of Object.entries(err.headers ?? {})) c.header(k, v);
  return c.json(errorBody(c, err.code, err.message, err.fields, err.details), err.status);
}

/** Seconds a client is asked to wait before trying again when a backend is down. */
const BACKEND_RETRY_AFTER_S = '5';

/**
 * Which backend an error says cannot be used: `store` (PostgreSQL, the embedded store) or `cache`
 * (Redis), with the detail for the log; undefined for any other error.
 */
export type BackendClassifier = (err: unknown) => { backend: 'store' | 'cache'; detail: string } | undefined;

/** The generic 503 for a backend that is down: no host, port, driver text or code in the answer. */
function backendDownError(backend: 'store' | 'cache'): ApiError {
  return new ApiError(
    503,
    backend === 'store' ? 'store_unavailable' : 'cache_unavailable',
    `${backend === 'store' ? 'store' : 'cache'} unavailable; try again shortly`,
    undefined,
    { 'Retry-After': BACKEND_RETRY_AFTER_S },
  );
}

/**
 * Maps anything thrown in a handler to the error shape. `backends` recognises a dead PostgreSQL or
 * Redis (app/backends.ts), answered 503 with a generic message and Retry-After.
 */
export function toApiError(err: unknown, backends?: BackendClassifier): ApiError {
  if (err instanceof ApiError) return err;
  const limit = inputLimitErrorOf(err);
  if (limit)
    return new ApiError(
      limit.status,
      limit.status === 413 ? 'payload_too_large' : 'input_limit',
      limit.message,
      undefined,
      undefined,
      { limit: limit.limit, max: limit.max },
    );
  const down = backends?.(err);
  if (down) return backendDownError(down.backend);
  if (err instanceof BackendUnavailableError)
    return backendDownError(err.backend === 'PostgreSQL' ? 'store' : 'cache');
  if (err instanceof InputError) return new ApiError(400, 'invalid_request', err.message);
  // Its message quotes whatever stopped the generation (a driver's text, an LLM's answer): logged
  // by the app, not answered.
  if (err instanceof GenerationFailedError)
    return new ApiError(
      503,
      'generation_failed',
      'generation failed and no earlier rule can stand in; try again shortly (the log has the reason under this request id)',
      undefined,
      { 'Retry-After': BACKEND_RETRY_AFTER_S },
    );
  if (err instanceof NoRuleError)
    return new ApiError(422, 'no_rule', err.message, undefined, undefined, { ...err.facts });
  if (err instanceof QueueUnavailableError)
    return new ApiError(
      503,
      'queue_unavailable',
      'the job queue is unavailable; try again shortly',
      undefined,
      {
        'Retry-After': '5',
      },
    );
  if (err instanceof HTTPException) {
    const status = err.status as ContentfulStatusCode;
    if (status === 415)
      return new ApiError(
        415,
        'unsupported_media_type',
        'send the body as JSON with Content-Type: application/json',
      );
    if (status === 413)
      return new ApiError(413, 'payload_too_large', err.message || 'request body too large');
    if (status === 400 && /json/i.test(err.message))
      return new ApiError(400, 'malformed_json', 'the request body is not valid JSON');
    if (status === 401) return new ApiError(401, 'unauthorized', err.message || 'unauthorized');
    if (status < 500) return new ApiError(status, 'invalid_request', err.message || 'bad request');
  }
  return new ApiError(500, 'internal', 'internal error; the log has the details under this request id');
}
