/**
 * @module Scanner webhooks: who sent it (an HMAC signature), is it fresh (a timestamp window and a
 * replay guard, webhook-replay.ts), and what it says (findings with a CVE and a severity).
 *
 * Signature (every format): headers `X-Wafgen-Timestamp: <unix seconds>` and
 * `X-Wafgen-Signature: sha256=<hex>` where hex = HMAC-SHA256(secret, "<timestamp>.<raw body>"),
 * compared in constant time against each configured secret (several allow rotation). A timestamp
 * outside ±WAFGEN_WEBHOOK_TOLERANCE_S is refused.
 *
 * GitHub can also call the endpoint directly: it signs with `X-Hub-Signature-256: sha256=<hex>`
 * over the raw body and sends no timestamp (and an `X-GitHub-Delivery` id it does not sign).
 *
 * A signature value is `sha256=`, `v1=` or nothing, then 32 bytes as hex (either case) or base64
 * (standard or URL-safe); a header may list several (comma or space separated, or the header
 * repeated), and one that verifies is enough.
 *
 * Replays: the key that marks a delivery as seen is the canonical signature of what was signed (the
 * HMAC of the signed payload under the first configured secret, hashed), the same whichever secret,
 * encoding, case, repetition or extra tokens the header carried. For the wafgen scheme the payload holds the timestamp, so the key
 * binds it and lives as long as the timestamp is accepted (2 × tolerance); for GitHub the payload is
 * the body alone, so the same signed body is the same delivery whatever delivery id the header
 * claims (GitHub's own redeliveries reuse id and body), remembered for a day.
 *
 * Formats: the generic `{source?, findings: [{id?, cveId, severity}]}` (or one finding alone), and
 * GitHub's `dependabot_alert` and `security_advisory` events.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

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
  /** The key that marks this delivery as seen (replay guard): scheme and canonical signature. */
  replayKey: string;
  /** How long to remember it, in milliseconds. */
  replayTtlMs: number;
  /** GitHub's delivery id, for logs (it is not signed, so it is not part of the key). */
  deliveryId?: string;
}

export interface WebhookHeaders {
  timestamp?: string | undefined;
  signature?: string | undefined;
  githubSignature?: string | undefined;
  githubDelivery?: string | undefined;
  githubEvent?: string | undefined;
}

/** How long a GitHub delivery (no timestamp) is remembered. */
const GITHUB_REPLAY_TTL_MS = 24 * 3600 * 1000;
/** Signature values read from one header; more is not a sender rotating secrets. */
const MAX_SIGNATURE_VALUES = 8;
const MAC_BYTES = 32;

const hmac = (secret: string, data: string): Buffer => createHmac('sha256', secret).update(data).digest();

/**
 * The 32 signature bytes a header value spells, or undefined: `sha256=`/`v1=` (any case) or no
 * prefix, then 64 hex digits (either case) or 43-44 base64 characters (standard or URL-safe).
 */
function decodeSignature(value: string): Buffer | undefined {
  const v = value.replace(/^(?:sha256|v1)=/i, '');
  if (/^[0-9a-f]{64}$/i.test(v)) return Buffer.from(v, 'hex');
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(v)) {
    const bytes = Buffer.from(v, 'base64');
    // Node's decoder ignores trailing bits: re-encode so one byte string has one accepted spelling
    // per alphabet and a value with stray low bits is refused rather than read as another.
    const again = bytes.toString(v.includes('-') || v.includes('_') ? 'base64url' : 'base64');
    return bytes.length === MAC_BYTES && again.replace(/=$/, '') === v.replace(/=$/, '') ? bytes : undefined;
  }
  return undefined;
}

/** The decoded signatures of a header (every value it lists that decodes), at most 8. */
function signatureValues(header: string): Buffer[] {
  const out: Buffer[] = [];
  for (const part of header.slice(0, 4096).split(/[,\s]+/)) {
    const bytes = part ? decodeSignature(part) : undefined;
    if (bytes) out.push(bytes);
    if (out.length >= MAX_SIGNATURE_VALUES) break;
  }
  return out;
}

/**
 * The replay key of `payload` when any given signature is its HMAC under any secret, else undefined.
 * Each pair is compared in constant time. The key is the SHA-256 of the canonical signature (the
 * HMAC under the first secret), so the replay store never holds a usable signature.
 */
function verifiedKey(
  scheme: SignatureCheck['scheme'],
  given: readonly Buffer[],
  payload: string,
  secrets: readonly string[],
): string | undefined {
  let ok = false;
  let canonical: Buffer | undefined;
  for (const secret of secrets) {
    const expected = hmac(secret, payload);
    canonical ??= expected;
    for (const g of given) ok = timingSafeEqual(g, expected) || ok;
  }
  if (!ok || !canonical) return undefined;
  return `webhook-seen:${scheme}:${createHash('sha256').update(canonical).digest('hex')}`;
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
    const payload = `${headers.timestamp}.${rawBody}`;
    const replayKey = verifiedKey('wafgen', signatureValues(headers.signature), payload, secrets);
    if (!replayKey) throw invalid('signature does not match');
    return { scheme: 'wafgen', replayKey, replayTtlMs: 2 * toleranceS * 1000 };
  }
  if (headers.githubSignature !== undefined) {
    if (!headers.githubDelivery || !/^[A-Za-z0-9-]{8,100}$/.test(headers.githubDelivery))
      throw invalid('X-GitHub-Delivery is missing or malformed');
    const replayKey = verifiedKey('github', signatureValues(headers.githubSignature), rawBody, secrets);
    if (!replayKey) throw invalid('signature does not match');
    return {
      scheme: 'github',
      replayKey,
      replayTtlMs: GITHUB_REPLAY_TTL_MS,
      deliveryId: headers.githubDelivery,
    };
  }
  throw invalid(
    'unsigned request: send X-Wafgen-Timestamp and X-Wafgen-Signature (or GitHub X-Hub-Signature-256)',
  );
}

const hmacHex = (secret: string, data: string): string => hmac(secret, data).toString('hex');

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

// eslint-disable-next-line security/detect-non-literal-regexp -- CVE_ID_PATTERN is a constant of ours
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
