// Values on their way into and out of PostgreSQL. Two things PostgreSQL refuses that exploit data
// does carry: NUL characters (in text and in jsonb) and unpaired UTF-16 surrogates (in jsonb; in text
// the drivers would silently turn them into U+FFFD). Strings holding either are stored escaped behind
// a marker and restored on the way out, so a request with `%00` decoded in its body round-trips.

/** A Unicode noncharacter: never part of interchanged text, so it can flag an escaped string. */
const MARK = '\uFDD0';
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function encodeText(s: string): string {
  return s.includes('\u0000') || LONE_SURROGATE.test(s) || s.startsWith(MARK) ? MARK + JSON.stringify(s) : s;
}

export function decodeText(s: string): string {
  if (!s.startsWith(MARK)) return s;
  try {
    const v: unknown = JSON.parse(s.slice(MARK.length));
    return typeof v === 'string' ? v : s;
  } catch {
    return s;
  }
}

export function encodeNullableText(s: string | undefined | null): string | null {
  return s === undefined || s === null ? null : encodeText(s);
}

/** A column value read back: null becomes undefined, as the domain types expect. */
export function decodeNullableText(s: string | null | undefined): string | undefined {
  return s === null || s === undefined ? undefined : decodeText(s);
}

function mapStrings(value: unknown, f: (s: string) => string): unknown {
  if (typeof value === 'string') return f(value);
  if (Array.isArray(value)) return value.map((v) => mapStrings(v, f));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[f(k)] = mapStrings(v, f);
    return out;
  }
  return value;
}

/** JSON text for a jsonb parameter. */
export function toJsonText(value: unknown): string {
  const text = JSON.stringify(mapStrings(value, encodeText));
  if (text === undefined) throw new TypeError('value is not representable as JSON');
  return text;
}

export function toNullableJsonText(value: unknown): string | null {
  return value === undefined || value === null ? null : toJsonText(value);
}

/** A jsonb value read back. */
export function fromJson(value: unknown): unknown {
  return mapStrings(value, decodeText);
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const src = value as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(src).sort()) if (src[k] !== undefined) out[k] = sortKeys(src[k]);
    return out;
  }
  return value;
}

/** JSON with object keys sorted: equal for equal values whatever the key order (jsonb reorders keys). */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value)) ?? 'undefined';
}
