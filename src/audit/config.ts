// Audit settings from environment variables, validated by one Zod schema. A bad or missing variable
// is named in the error; its value never is (tokens and keys are secrets), and every secret loaded
// here is registered with the log scrubber.
import { join } from 'node:path';

import { z } from 'zod';

import { Secret } from '../config/secret.js';

import { ConfigError } from '../config/index.js';
import { registerSecret } from '../observability/redact.js';

const SINK_KINDS = ['file', 'splunk', 'datadog', 'webhook'] as const;
type SinkKind = (typeof SINK_KINDS)[number];

const httpUrl = z.string().refine(
  (v) => {
    try {
      return ['http:', 'https:'].includes(new URL(v).protocol);
    } catch {
      return false;
    }
  },
  { message: 'must be a URL starting with http:// or https://' },
);

const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);
const bool = z
  .enum(['1', '0', 'true', 'false', 'yes', 'no'])
  .transform((v) => v === '1' || v === 'true' || v === 'yes');

const sinkList = z.string().transform((raw, ctx) => {
  const names = raw
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  if (names.length === 1 && names[0] === 'none') return [] as SinkKind[];
  for (const n of names)
    if (!(SINK_KINDS as readonly string[]).includes(n))
      ctx.addIssue({
        code: 'custom',
        message: `lists unknown sink "${n}" (known: ${SINK_KINDS.join(', ')}, or none)`,
      });
  if (names.length === 0) ctx.addIssue({ code: 'custom', message: 'must name at least one sink, or none' });
  if (new Set(names).size !== names.length) ctx.addIssue({ code: 'custom', message: 'lists a sink twice' });
  return names as SinkKind[];
});

/** Every variable the audit layer reads. Empty values count as unset. */
const AuditEnvSchema = z.object({
  /** Comma-separated: file, splunk, datadog, webhook; or none. Default file. */
  WAFGEN_AUDIT_SINKS: sinkList.optional(),
  /** JSON Lines file of the file sink. Default <data dir>/audit/audit.jsonl. */
  WAFGEN_AUDIT_FILE: z.string().min(1).optional(),
  /** Spool folder (one subfolder per sink). Default <data dir>/audit/spool. */
  WAFGEN_AUDIT_SPOOL_DIR: z.string().min(1).optional(),
  /** Events per delivery (Datadog takes at most 1,000). */
  WAFGEN_AUDIT_BATCH_SIZE: int(1, 1000).default(100),
  /** Longest an event waits for its batch to fill. */
  WAFGEN_AUDIT_FLUSH_MS: int(0, 600_000).default(1000),
  /** Per HTTP request to a SIEM. */
  WAFGEN_AUDIT_TIMEOUT_MS: int(100, 600_000).default(10_000),
  WAFGEN_AUDIT_RETRY_INITIAL_MS: int(1, 600_000).default(500),
  WAFGEN_AUDIT_RETRY_MAX_MS: int(1, 3_600_000).default(60_000),
  /** fsync the spool after every write (default on: an event survives a power cut once emit returns). */
  WAFGEN_AUDIT_FSYNC: bool.default(true),
  /** How long closing waits for delivery before leaving the rest in the spool for the next start. */
  WAFGEN_AUDIT_CLOSE_TIMEOUT_MS: int(0, 600_000).default(5000),

  /** Splunk HTTP Event Collector: base URL (https://splunk:8088) or the full /services/collector/event URL. */
  WAFGEN_SPLUNK_HEC_URL: httpUrl.optional(),
  WAFGEN_SPLUNK_HEC_TOKEN: z.string().min(1).optional(),
  WAFGEN_SPLUNK_INDEX: z.string().min(1).max(200).optional(),
  WAFGEN_SPLUNK_SOURCETYPE: z.string().min(1).max(200).default('wafgen:audit'),
  WAFGEN_SPLUNK_SOURCE: z.string().min(1).max(200).default('wafgen'),

  /** Datadog: the API key, and the site (datadoghq.com, datadoghq.eu, us3.datadoghq.com...). */
  DD_API_KEY: z.string().min(1).optional(),
  DD_SITE: z
    .string()
    .regex(/^[a-z0-9.-]+\.[a-z]{2,}$/, 'must be a Datadog site like datadoghq.com')
    .default('datadoghq.com'),
  /** Overrides the intake URL derived from DD_SITE (a proxy, or a test receiver). */
  WAFGEN_DATADOG_LOGS_URL: httpUrl.optional(),
  DD_SERVICE: z.string().min(1).max(100).default('wafgen'),
  DD_ENV: z.string().min(1).max(100).optional(),
  DD_TAGS: z.string().min(1).max(1000).optional(),

  /** Generic webhook: the URL, and the HMAC-SHA256 signing secret (at least 16 characters). */
  WAFGEN_AUDIT_WEBHOOK_URL: httpUrl.optional(),
  WAFGEN_AUDIT_WEBHOOK_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
});

type AuditEnv = z.infer<typeof AuditEnvSchema>;

export type SinkConfig =
  | { kind: 'file'; path: string }
  | {
      kind: 'splunk';
      url: string;
      token: Secret;
      index?: string;
      sourcetype: string;
      source: string;
    }
  | { kind: 'datadog'; url: string; apiKey: Secret; service: string; tags?: string }
  | { kind: 'webhook'; url: string; secret: Secret };

export interface AuditConfig {
  sinks: SinkConfig[];
  spoolDir: string;
  batchSize: number;
  flushIntervalMs: number;
  timeoutMs: number;
  retry: { initialMs: number; maxMs: number };
  fsync: boolean;
  closeTimeoutMs: number;
}

export class AuditConfigError extends ConfigError {}

/** The full HEC event endpoint from a base URL or the endpoint itself. */
function splunkEventUrl(base: string): string {
  const u = new URL(base);
  if (u.pathname === '' || u.pathname === '/') u.pathname = '/services/collector/event';
  return u.toString();
}

/** The logs intake endpoint for a Datadog site, or an explicit URL (its path kept if it has one). */
function datadogLogsUrl(site: string, override?: string): string {
  const u = new URL(override ?? `https://http-intake.logs.${site}`);
  if (u.pathname === '' || u.pathname === '/') u.pathname = '/api/v2/logs';
  return u.toString();
}

export function loadAuditConfig(
  env: NodeJS.ProcessEnv = process.env,
  defaults: { dataDir: string },
): AuditConfig {
  const present = Object.fromEntries(
    Object.keys(AuditEnvSchema.shape)
      .map((k) => [k, env[k]])
      .filter(([, v]) => v !== undefined && v !== ''),
  );
  const parsed = AuditEnvSchema.safeParse(present);
  if (!parsed.success)
    throw new AuditConfigError(parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`));
  const e = parsed.data;
  for (const s of [e.WAFGEN_SPLUNK_HEC_TOKEN, e.DD_API_KEY, e.WAFGEN_AUDIT_WEBHOOK_SECRET]) registerSecret(s);

  const kinds = e.WAFGEN_AUDIT_SINKS ?? ['file'];
  const problems: string[] = [];
  const need = (kind: SinkKind, names: (keyof AuditEnv)[]) => {
    for (const n of names)
      if (e[n] === undefined) problems.push(`${n} must be set when WAFGEN_AUDIT_SINKS includes ${kind}`);
  };
  const sinks: SinkConfig[] = [];
  for (const kind of kinds) {
    if (kind === 'file') {
      sinks.push({ kind, path: e.WAFGEN_AUDIT_FILE ?? join(defaults.dataDir, 'audit', 'audit.jsonl') });
    } else if (kind === 'splunk') {
      need(kind, ['WAFGEN_SPLUNK_HEC_URL', 'WAFGEN_SPLUNK_HEC_TOKEN']);
      if (e.WAFGEN_SPLUNK_HEC_URL && e.WAFGEN_SPLUNK_HEC_TOKEN)
        sinks.push({
          kind,
          url: splunkEventUrl(e.WAFGEN_SPLUNK_HEC_URL),
          token: new Secret(e.WAFGEN_SPLUNK_HEC_TOKEN),
          ...(e.WAFGEN_SPLUNK_INDEX ? { index: e.WAFGEN_SPLUNK_INDEX } : {}),
          sourcetype: e.WAFGEN_SPLUNK_SOURCETYPE,
          source: e.WAFGEN_SPLUNK_SOURCE,
        });
    } else if (kind === 'datadog') {
      need(kind, ['DD_API_KEY']);
      const tags = [e.DD_ENV ? `env:${e.DD_ENV}` : '', e.DD_TAGS ?? ''].filter(Boolean).join(',');
      if (e.DD_API_KEY)
        sinks.push({
          kind,
          url: datadogLogsUrl(e.DD_SITE, e.WAFGEN_DATADOG_LOGS_URL),
          apiKey: new Secret(e.DD_API_KEY),
          service: e.DD_SERVICE,
          ...(tags ? { tags } : {}),
        });
    } else {
      need(kind, ['WAFGEN_AUDIT_WEBHOOK_URL', 'WAFGEN_AUDIT_WEBHOOK_SECRET']);
      if (e.WAFGEN_AUDIT_WEBHOOK_URL && e.WAFGEN_AUDIT_WEBHOOK_SECRET)
        sinks.push({
          kind,
          url: e.WAFGEN_AUDIT_WEBHOOK_URL,
          secret: new Secret(e.WAFGEN_AUDIT_WEBHOOK_SECRET),
        });
    }
  }
  if (e.WAFGEN_AUDIT_RETRY_MAX_MS < e.WAFGEN_AUDIT_RETRY_INITIAL_MS)
    problems.push('WAFGEN_AUDIT_RETRY_MAX_MS must not be below WAFGEN_AUDIT_RETRY_INITIAL_MS');
  if (problems.length > 0) throw new AuditConfigError(problems);
  return {
    sinks,
    spoolDir: e.WAFGEN_AUDIT_SPOOL_DIR ?? join(defaults.dataDir, 'audit', 'spool'),
    batchSize: e.WAFGEN_AUDIT_BATCH_SIZE,
    flushIntervalMs: e.WAFGEN_AUDIT_FLUSH_MS,
    timeoutMs: e.WAFGEN_AUDIT_TIMEOUT_MS,
    retry: { initialMs: e.WAFGEN_AUDIT_RETRY_INITIAL_MS, maxMs: e.WAFGEN_AUDIT_RETRY_MAX_MS },
    fsync: e.WAFGEN_AUDIT_FSYNC,
    closeTimeoutMs: e.WAFGEN_AUDIT_CLOSE_TIMEOUT_MS,
  };
}
