// Structured JSON logs (pino) with secrets kept out: pino's redaction for the known places secrets
// live (headers, keys, tokens), then a scrub of every value and message for secrets that turn up
// elsewhere (a key inside an error message, a token in a URL, a JWT).
import pino, { type DestinationStream, type Level, type Logger } from 'pino';

import { redactText, redactValue, REDACTED } from './redact.js';
import { reasonCodes, type ReportLike } from './report.js';

export type { Logger } from 'pino';

/**
 * Paths pino censors before anything else looks at a log object. The scrub in formatters.log
 * catches the same names anywhere (isSecretKey); this list is the fast path and the documentation.
 */
const REDACT_PATHS: readonly string[] = [
  'authorization',
  'Authorization',
  'cookie',
  'apiKey',
  'api_key',
  'token',
  'accessToken',
  'access_token',
  'refreshToken',
  'idToken',
  'jwt',
  'password',
  'secret',
  'signature',
  'headers.authorization',
  'headers.Authorization',
  'headers.cookie',
  'headers["set-cookie"]',
  'headers["x-api-key"]',
  'headers["dd-api-key"]',
  'headers["DD-API-KEY"]',
  'headers["x-wafgen-signature"]',
  'headers["proxy-authorization"]',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  '*.authorization',
  '*.Authorization',
  '*.apiKey',
  '*.api_key',
  '*.token',
  '*.accessToken',
  '*.password',
  '*.secret',
  '*.headers.authorization',
  '*.headers["dd-api-key"]',
  '*.headers["x-api-key"]',
  'OPENAI_API_KEY',
  'ANTHROPIC_API_KEY',
  'GOOGLE_GENERATIVE_AI_API_KEY',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'DD_API_KEY',
  'WAFGEN_SPLUNK_HEC_TOKEN',
  'WAFGEN_AUDIT_WEBHOOK_SECRET',
  '*.OPENAI_API_KEY',
  '*.ANTHROPIC_API_KEY',
  '*.DD_API_KEY',
];

export interface LoggerOptions {
  level?: Level | 'silent';
  /** Where lines go (default stdout; the CLI passes stderr so stdout stays the rule). */
  destination?: DestinationStream;
  /** Fields on every line, e.g. { service: 'api' }. */
  base?: Record<string, unknown>;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const options: pino.LoggerOptions = {
    level: opts.level ?? 'info',
    base: { service: 'wafgen', ...(opts.base ?? {}) },
    timestamp: pino.stdTimeFunctions.isoTime,
    messageKey: 'msg',
    redact: { paths: [...REDACT_PATHS], censor: REDACTED },
    formatters: {
      level: (label) => ({ level: label }),
      // Every value of every line, after pino's path redaction: secret keys anywhere, secret
      // shapes in any string, errors reduced to scrubbed type/message/stack.
      log: (obj) => redactValue(obj) as Record<string, unknown>,
      bindings: (b) => redactValue(b) as Record<string, unknown>,
    },
    hooks: {
      // The message and printf-style arguments.
      logMethod(args, method) {
        const scrubbed = args.map((a) => (typeof a === 'string' ? redactText(a) : a)) as typeof args;
        return method.apply(this, scrubbed);
      },
    },
  };
  return opts.destination ? pino(options, opts.destination) : pino(options);
}

export interface GenerationLogFields {
  requestId: string;
  cveId: string;
  principal?: string;
  /** The report, when a rule came out (passed or not). */
  report?: ReportLike;
  /** What went wrong when no rule came out, or alongside a failing report. */
  error?: unknown;
  /** Defaults to the report's durationMs. */
  latencyMs?: number;
  engine?: string;
  provider?: string;
  model?: string;
  ruleName?: string;
  version?: number;
}

/** The one log line per generated rule (info when it passed, warn when it failed checks, error otherwise). */
export function logGeneration(logger: Logger, f: GenerationLogFields): void {
  const r = f.report;
  const input = r?.usage.inputTokens ?? 0;
  const output = r?.usage.outputTokens ?? 0;
  const error =
    f.error === undefined
      ? undefined
      : redactText(f.error instanceof Error ? f.error.message : String(f.error));
  const success = r?.passed === true && f.error === undefined;
  const line = {
    event: 'generation',
    requestId: f.requestId,
    cveId: f.cveId,
    ...(f.principal ? { principal: f.principal } : {}),
    engine: r?.engine ?? f.engine ?? 'unknown',
    ...(r?.producedBy ? { producedBy: r.producedBy } : {}),
    provider: r?.provider ?? f.provider ?? null,
    model: r?.model ?? f.model ?? null,
    success,
    attempts: r?.attempts ?? 0,
    latencyMs: f.latencyMs ?? r?.durationMs ?? null,
    tokens: { input, output, total: input + output },
    costUsd: r?.costUsd ?? 0,
    ...(f.ruleName ? { ruleName: f.ruleName } : {}),
    ...(f.version !== undefined ? { version: f.version } : {}),
    ...(r?.fallback ? { fallback: r.fallback } : {}),
    error: error ?? null,
    validationErrors: r && !r.passed ? r.reasons : [],
    reasonCodes: r ? reasonCodes(r) : [],
  };
  // An untested rule failed no check: it had no exploit request to be tested against.
  const untested = r?.verdict === 'untested';
  const what = success
    ? 'passed'
    : untested
      ? 'untested (no exploit request to test)'
      : r
        ? 'failed its checks'
        : 'failed';
  const msg = `generation ${f.cveId} ${what}`;
  if (success) logger.info(line, msg);
  else if (r) logger.warn(line, msg);
  else logger.error(line, msg);
}
