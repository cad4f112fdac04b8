// Scanner webhooks: who sent it (an HMAC signature), is it fresh (a timestamp window and a replay
// guard), and what it says (findings with a CVE and a severity).
//
// Signature (every format): headers `X-Wafgen-Timestamp: <unix seconds>` and
// `X-Wafgen-Signature: sha256=<hex>` where hex = HMAC-SHA256(secret, "<timestamp>.<raw body>"),
// compared in constant time against each configured secret (several allow rotation). A timestamp
// outside ±WAFGEN_WEBHOOK_TOLERANCE_S is refused, and a signature seen before within the window is
// acknowledged without being processed again.
//
// GitHub can also call the endpoint directly: it signs with `X-Hub-Signature-256: sha256=<hex>`
// over the raw body and sends no timestamp, so replays are refused by its unique
// `X-GitHub-Delivery` id instead (remembered for a day).
//
// Formats: the generic `{source?, findings: [{id?, cveId, severity}]}` (or one finding alone), and
// GitHub's `dependabot_alert` and `security_advisory` events.
import { createHmac, timingSafeEqual } from 'node:crypto';

import type { z } from 'zod';

import { ApiError, zodFields } from './errors.js';
import {
  GenericFinding,
  GenericWebhook,
  GitHubDependabotAlert,
  GitHubSecurityAdvisory,
  CVE_ID_PATTERN,
} from './schemas.js';

export interface SignatureCheck {
  scheme: 'wafgen' | 'github';
  /** The key that marks this delivery as seen (replay guard). */
  replayKey: string;
  /** How long to remember it, in milliseconds. */
  replayTtlMs: number;
}

export interface WebhookHeaders {
  timestamp?: string | undefined;
  signature?: string | undefined;
  githubSignature?: string | undefined;
  githubDelivery?: string | undefined;
  githubEvent?: string | undefined;
}

const hmacHex = (secret: string, data: string): string =>
  createHmac('sha256', secret).update(data).digest('hex');

function safeEqualHex(a: string, b: string): boolean {
  if (!/^[0-9a-f]{64}$/i.test(a) || !/^[0-9a-f]{64}$/i.test(b)) return false;
  return timingSafeEqual(Buffer.from(a, 'hex'), Buffer.from(b, 'hex'));
}

/** Every `sha256=<hex>` (or bare hex) value in a signature header; senders may list several. */
function signatureValues(header: string): string[] {
  return header
    .split(/[,\s]+/)
    .map((p) => p.trim().replace(/^(?:sha256|v1)=/i, ''))
    .filter(Boolean);
}

const invalid = (message: string): ApiError => new ApiError(401, 'invalid_signature', message);

export function verifyWebhookSignature(
  rawBody: string,
  headers: WebhookHeaders,
  secrets: readonly string[],
  toleranceS: number,
  nowMs = Date.now(),
): SignatureCheck {
  if (secrets.length === 0)
    throw new ApiError(503, 'not_configured', 'the webhook is not configured (WAFGEN_WEBHOOK_SECRET)');
  if (headers.signature !== undefined || headers.timestamp !== undefined) {
    if (!headers.timestamp || !/^\d{1,12}$/.test(headers.timestamp))
      throw invalid('X-Wafgen-Timestamp must be the signing time in Unix seconds');
    const ts = Number(headers.timestamp);
    if (Math.abs(nowMs / 1000 - ts) > toleranceS)
      throw invalid(
        `the timestamp is more than ${toleranceS} s away from the server's clock (replayed or clock skew)`,
      );
    if (!headers.signature) throw invalid('X-Wafgen-Signature is missing');
    const given = signatureValues(headers.signature);
    const payload = `${headers.timestamp}.${rawBody}`;
    const ok = secrets.some((secret) => {
      const expected = hmacHex(secret, payload);
      return given.some((g) => safeEqualHex(g, expected));
    });
    if (!ok) throw invalid('signature does not match');
    return {
      scheme: 'wafgen',
      replayKey: `webhook-seen:${given.join(',').slice(0, 200)}`,
      replayTtlMs: 2 * toleranceS * 1000,
    };
  }
  if (headers.githubSignature !== undefined) {
    if (!headers.githubDelivery || !/^[A-Za-z0-9-]{8,100}$/.test(headers.githubDelivery))
      throw invalid('X-GitHub-Delivery is missing or malformed');
    const given = signatureValues(headers.githubSignature);
    const ok = secrets.some((secret) => {
      const expected = hmacHex(secret, rawBody);
      return given.some((g) => safeEqualHex(g, expected));
    });
    if (!ok) throw invalid('signature does not match');
    return {
      scheme: 'github',
      replayKey: `webhook-seen:github:${headers.githubDelivery}`,
      replayTtlMs: 24 * 3600 * 1000,
    };
  }
  throw invalid(
    'unsigned request: send X-Wafgen-Timestamp and X-Wafgen-Signature (or GitHub X-Hub-Signature-256)',
  );
}

/** Signs a body the way the endpoint expects (for scanners' relays, tests and the benchmarks). */
export function signWebhook(rawBody: string, secret: string, nowMs = Date.now()): Record<string, string> {
  const timestamp = String(Math.floor(nowMs / 1000));
  return {
    'X-Wafgen-Timestamp': timestamp,
    'X-Wafgen-Signature': `sha256=${hmacHex(secret, `${timestamp}.${rawBody}`)}`,
  };
}

/** GitHub's own signature header for a body. */
export function signGitHub(rawBody: string, secret: string): string {
  return `sha256=${hmacHex(secret, rawBody)}`;
}

interface Finding {
  cveId: string;
  severity: string;
  findingId?: string;
}

interface Skipped {
  cveId?: string;
  findingId?: string;
  severity?: string;
  reason: string;
}

export interface ParsedWebhook {
  format: 'generic' | 'github';
  source: string;
  /** Critical and high findings, one per CVE. */
  actionable: Finding[];
  skipped: Skipped[];
}

const CVE_RE = new RegExp(CVE_ID_PATTERN);
const QUEUED_SEVERITIES = new Set(['critical', 'high']);

function normalizeSeverity(s: string | undefined): string {
  const v = (s ?? 'unknown').toLowerCase();
  return v === 'moderate' ? 'medium' : v === 'informational' ? 'info' : v;
}

function split(
  findings: Finding[],
  format: ParsedWebhook['format'],
  source: string,
  skipped: Skipped[],
): ParsedWebhook {
  const actionable: Finding[] = [];
  const seen = new Set<string>();
  for (const f of findings) {
    const severity = normalizeSeverity(f.severity);
    const base = { cveId: f.cveId, ...(f.findingId ? { findingId: f.findingId } : {}), severity };
    if (!QUEUED_SEVERITIES.has(severity)) {
      skipped.push({ ...base, reason: `severity ${severity} is below high` });
    } else if (seen.has(f.cveId)) {
      skipped.push({ ...base, reason: 'same CVE as an earlier finding in this delivery' });
    } else {
      seen.add(f.cveId);
      actionable.push({ ...base });
    }
  }
  return { format, source, actionable, skipped };
}

const GITHUB_ALERT_ACTIONS = new Set(['created', 'reopened', 'reintroduced', 'auto_reopened']);
const GITHUB_ADVISORY_ACTIONS = new Set(['published', 'updated']);

type Advisory = z.infer<typeof GitHubDependabotAlert>['alert']['security_advisory'];

function advisoryCve(a: Advisory): string | undefined {
  const id = a.cve_id ?? a.identifiers?.find((i) => i.type.toUpperCase() === 'CVE')?.value;
  return id && CVE_RE.test(id) ? id.toUpperCase() : undefined;
}

function parseGitHub(body: Record<string, unknown>, event: string | undefined): ParsedWebhook {
  const skipped: Skipped[] = [];
  const isAlert = 'alert' in body || event === 'dependabot_alert';
  const schema = isAlert ? GitHubDependabotAlert : GitHubSecurityAdvisory;
  const parsed = schema.safeParse(body);
  if (!parsed.success)
    throw new ApiError(
      400,
      'invalid_request',
      `not a GitHub ${isAlert ? 'dependabot_alert' : 'security_advisory'} event`,
      zodFields(parsed.error),
    );
  const action = parsed.data.action;
  const advisory: Advisory = isAlert
    ? (parsed.data as z.infer<typeof GitHubDependabotAlert>).alert.security_advisory
    : (parsed.data as z.infer<typeof GitHubSecurityAdvisory>).security_advisory;
  const severity = isAlert
    ? ((parsed.data as z.infer<typeof GitHubDependabotAlert>).alert.security_vulnerability?.severity ??
      advisory.severity)
    : advisory.severity;
  const source = isAlert ? 'github:dependabot_alert' : 'github:security_advisory';
  const cveId = advisoryCve(advisory);
  const findingId = advisory.ghsa_id;
  const base = {
    ...(cveId ? { cveId } : {}),
    ...(findingId ? { findingId } : {}),
    severity: normalizeSeverity(severity),
  };
  const allowed = isAlert ? GITHUB_ALERT_ACTIONS : GITHUB_ADVISORY_ACTIONS;
  if (!allowed.has(action) || advisory.withdrawn_at)
    return {
      format: 'github',
      source,
      actionable: [],
      skipped: [{ ...base, reason: `action ${action} needs no rule` }],
    };
  if (!cveId)
    return {
      format: 'github',
      source,
      actionable: [],
      skipped: [{ ...base, reason: 'the advisory has no CVE ID' }],
    };
  return split(
    [{ cveId, severity: severity ?? 'unknown', ...(findingId ? { findingId } : {}) }],
    'github',
    source,
    skipped,
  );
}

/** Reads a verified delivery. Throws ApiError 400 (with the failing fields) when it fits no format. */
export function parseWebhook(body: unknown, githubEvent?: string): ParsedWebhook {
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw new ApiError(400, 'invalid_request', 'the body must be a JSON object');
  const obj = body as Record<string, unknown>;
  if ('security_advisory' in obj || ('alert' in obj && typeof obj.alert === 'object') || githubEvent) {
    if (githubEvent && githubEvent !== 'dependabot_alert' && githubEvent !== 'security_advisory') {
      if (githubEvent === 'ping')
        return { format: 'github', source: 'github:ping', actionable: [], skipped: [] };
      return {
        format: 'github',
        source: `github:${githubEvent}`,
        actionable: [],
        skipped: [{ reason: `GitHub event ${githubEvent} is not handled` }],
      };
    }
    return parseGitHub(obj, githubEvent);
  }
  const many = 'findings' in obj;
  const parsed = many ? GenericWebhook.safeParse(obj) : GenericFinding.safeParse(obj);
  if (!parsed.success)
    throw new ApiError(400, 'invalid_request', 'invalid webhook payload', zodFields(parsed.error));
  const findings = many
    ? (parsed.data as z.infer<typeof GenericWebhook>).findings
    : [parsed.data as z.infer<typeof GenericFinding>];
  const source = many ? ((parsed.data as z.infer<typeof GenericWebhook>).source ?? 'generic') : 'generic';
  return split(
    findings.map((f) => ({
      cveId: f.cveId.toUpperCase(),
      severity: f.severity,
      ...(f.id ? { findingId: f.id } : {}),
    })),
    'generic',
    source,
    [],
  );
}
