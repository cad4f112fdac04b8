// Where audit events go: a JSON Lines file (the embedded default), Splunk's HTTP Event Collector,
// Datadog's logs intake, or a generic webhook signed with HMAC-SHA256. A sink sends one batch and
// either resolves (the receiver has it) or throws a SinkError saying whether trying again can help.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { appendFile, mkdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname } from 'node:path';

import { redactText } from '../observability/redact.js';
import type { SinkConfig } from './config.js';
import type { AuditEvent } from './event.js';

export interface AuditSink {
  /** `file`, `splunk`, `datadog`, `webhook`: names the spool folder and the metric label. */
  readonly name: string;
  /** Largest batch the receiver takes. */
  readonly maxBatch: number;
  send(events: readonly AuditEvent[]): Promise<void>;
}

export class SinkError extends Error {
  constructor(
    message: string,
    /** The receiver refused this payload for good (400, 413, 422): retrying the same bytes cannot help. */
    readonly permanent: boolean,
    readonly status?: number,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'SinkError';
  }
}

/** The same key for the same events in the same order: what a receiver dedupes a retried batch on. */
function batchKey(events: readonly AuditEvent[]): string {
  const h = createHash('sha256');
  for (const e of events) h.update(e.id).update('\n');
  return h.digest('hex').slice(0, 32);
}

export type FetchLike = typeof fetch;

interface HttpOptions {
  timeoutMs: number;
  fetch?: FetchLike;
}

function retryAfter(value: string | null): number | undefined {
  if (!value) return undefined;
  if (/^\s*\d+(\.\d+)?\s*$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

async function post(
  sink: string,
  url: string,
  body: string,
  headers: Record<string, string>,
  opts: HttpOptions,
): Promise<void> {
  let res: Response;
  try {
    res = await (opts.fetch ?? fetch)(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'wafgen-audit', ...headers },
      body,
      signal: AbortSignal.timeout(opts.timeoutMs),
      redirect: 'error',
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    const what = error instanceof Error ? error.message : String(error);
    throw new SinkError(`${sink}: ${redactText(what)}${cause ? ` (${cause})` : ''}`, false);
  }
  const text = await res.text().catch(() => '');
  if (res.ok) return;
  const status = res.status;
  // The payload's own fault; anything else (auth, a wrong path, 5xx, 429) is kept until it is fixed.
  const permanent = status === 400 || status === 413 || status === 422;
  const detail = redactText(text.replace(/\s+/g, ' ').trim()).slice(0, 200);
  throw new SinkError(
    `${sink}: HTTP ${status}${detail ? ` ${detail}` : ''}`,
    permanent,
    status,
    retryAfter(res.headers.get('retry-after')),
  );
}

function fileSink(path: string): AuditSink {
  let ready: Promise<unknown> | undefined;
  return {
    name: 'file',
    maxBatch: 10_000,
    async send(events) {
      try {
        await (ready ??= mkdir(dirname(path), { recursive: true, mode: 0o700 }));
        await appendFile(path, events.map((e) => JSON.stringify(e) + '\n').join(''), { mode: 0o600 });
      } catch (error) {
        ready = undefined;
        throw new SinkError(`file ${path}: ${(error as Error).message}`, false);
      }
    },
  };
}

function splunkSink(cfg: Extract<SinkConfig, { kind: 'splunk' }>, opts: HttpOptions): AuditSink {
  const host = hostname();
  return {
    name: 'splunk',
    maxBatch: 1000,
    async send(events) {
      // HEC takes several event objects back to back in one body.
      const body = events
        .map((e) =>
          JSON.stringify({
            time: Date.parse(e.timestamp) / 1000,
            host,
            source: cfg.source,
            sourcetype: cfg.sourcetype,
            ...(cfg.index ? { index: cfg.index } : {}),
            event: e,
          }),
        )
        .join('\n');
      await post(
        'splunk',
        cfg.url,
        body,
        {
          authorization: `Splunk ${cfg.token.reveal()}`,
          'x-wafgen-batch-id': batchKey(events),
        },
        opts,
      );
    },
  };
}

function summary(e: AuditEvent): { message: string; status: 'info' | 'warn' } {
  if (e.type === 'generation') {
    const untested = e.reasonCodes.length === 1 && e.reasonCodes[0] === 'no-exploit-tested';
    const what = e.passed
      ? 'rule generated'
      : untested
        ? 'rule untested (no exploit request to test)'
        : e.generated
          ? 'rule failed its checks'
          : 'generation failed';
    return { message: `wafgen generation ${e.cveId}: ${what}`, status: e.passed ? 'info' : 'warn' };
  }
  const d = (e as Partial<typeof e>).deployment;
  if (!d) return { message: `wafgen ${String((e as { type: unknown }).type)} ${e.cveId}`, status: 'info' };
  return {
    message: `wafgen ${d.action} ${e.ruleName ?? e.cveId} to ${d.target} (${d.mode}${d.dryRun ? ', dry run' : ''}): ${d.ok ? 'ok' : 'failed'}`,
    status: d.ok ? 'info' : 'warn',
  };
}

function datadogSink(cfg: Extract<SinkConfig, { kind: 'datadog' }>, opts: HttpOptions): AuditSink {
  const host = hostname();
  return {
    name: 'datadog',
    // The intake takes at most 1,000 entries and 5 MB per request.
    maxBatch: 1000,
    async send(events) {
      const body = JSON.stringify(
        events.map((e) => ({
          ...e,
          ...summary(e),
          ddsource: 'wafgen',
          service: cfg.service,
          hostname: host,
          ...(cfg.tags ? { ddtags: cfg.tags } : {}),
        })),
      );
      await post(
        'datadog',
        cfg.url,
        body,
        {
          'dd-api-key': cfg.apiKey.reveal(),
          'x-wafgen-batch-id': batchKey(events),
        },
        opts,
      );
    },
  };
}

export const SIGNATURE_HEADER = 'x-wafgen-signature';
export const TIMESTAMP_HEADER = 'x-wafgen-timestamp';

/** `sha256=<hex>` of HMAC-SHA256(secret, "<timestamp>.<body>"). */
export function signWebhook(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * What a receiver does with a webhook delivery: recompute the signature over the raw body and the
 * timestamp header, compare in constant time, and refuse stale timestamps (replays).
 */
export function verifyWebhook(
  secret: string,
  headers: { signature: string | undefined; timestamp: string | undefined },
  body: string,
  opts: { toleranceSeconds?: number; now?: number } = {},
): boolean {
  const { signature, timestamp } = headers;
  if (!signature || !timestamp || !/^\d+$/.test(timestamp)) return false;
  const now = opts.now ?? Date.now();
  if (Math.abs(now / 1000 - Number(timestamp)) > (opts.toleranceSeconds ?? 300)) return false;
  const expected = Buffer.from(signWebhook(secret, timestamp, body));
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

function webhookSink(cfg: Extract<SinkConfig, { kind: 'webhook' }>, opts: HttpOptions): AuditSink {
  return {
    name: 'webhook',
    maxBatch: 1000,
    async send(events) {
      const body = JSON.stringify({ events });
      const timestamp = String(Math.floor(Date.now() / 1000));
      await post(
        'webhook',
        cfg.url,
        body,
        {
          [TIMESTAMP_HEADER]: timestamp,
          [SIGNATURE_HEADER]: signWebhook(cfg.secret.reveal(), timestamp, body),
          'idempotency-key': batchKey(events),
          'x-wafgen-batch-id': batchKey(events),
        },
        opts,
      );
    },
  };
}

export function createSink(cfg: SinkConfig, opts: HttpOptions): AuditSink {
  switch (cfg.kind) {
    case 'file':
      return fileSink(cfg.path);
    case 'splunk':
      return splunkSink(cfg, opts);
    case 'datadog':
      return datadogSink(cfg, opts);
    case 'webhook':
      return webhookSink(cfg, opts);
  }
}
