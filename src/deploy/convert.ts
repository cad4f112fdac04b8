// wafgen's rule documents carry ByteMatch SearchStrings as text; the SDK v3 takes and returns them as
// bytes (it base64-encodes on the wire). Only the rule wafgen deploys is converted: every other rule of
// a web ACL or rule group stays the SDK object GetWebACL returned, so it goes back byte for byte.
import type { Rule as SdkRule } from '@aws-sdk/client-wafv2';

import type { Rule } from '../waf/model/shapes.generated.js';

const utf8 = new TextDecoder('utf-8');

function mapByteMatches(value: unknown, fn: (s: unknown) => unknown): unknown {
  if (Array.isArray(value)) return value.map((v) => mapByteMatches(v, fn));
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (k === 'ByteMatchStatement' && v !== null && typeof v === 'object') {
      const inner = mapByteMatches(v, fn) as Record<string, unknown>;
      out[k] = { ...inner, SearchString: fn((v as { SearchString?: unknown }).SearchString) };
    } else {
      out[k] = mapByteMatches(v, fn);
    }
  }
  return out;
}

/** A wafgen rule (SearchString as text) as the SDK takes it (SearchString as UTF-8 bytes). */
export function toSdkRule(rule: Rule): SdkRule {
  return mapByteMatches(rule, (s) =>
    typeof s === 'string' ? new Uint8Array(Buffer.from(s, 'utf8')) : s,
  ) as SdkRule;
}

/** An SDK rule as wafgen documents carry it (SearchString bytes decoded as UTF-8). */
export function fromSdkRule(rule: SdkRule): Rule {
  return mapByteMatches(rule, (s) => (s instanceof Uint8Array ? utf8.decode(s) : s)) as Rule;
}

/**
 * Stable JSON for comparing SDK values: keys sorted, undefined members dropped, bytes as base64, so
 * a rule read back from AWS compares equal to the one that was sent.
 */
export function canonical(value: unknown): string {
  return JSON.stringify(normalize(value));
}

function normalize(value: unknown): unknown {
  if (value instanceof Uint8Array) return { $bytes: Buffer.from(value).toString('base64') };
  if (Array.isArray(value)) return value.map(normalize);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(value).sort()) {
    const v = (value as Record<string, unknown>)[k];
    if (v !== undefined) out[k] = normalize(v);
  }
  return out;
}
