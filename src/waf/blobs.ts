// SearchString is a blob. Rule documents written by people (console JSON editor, CloudFormation,
// Terraform) carry it as text; the raw wire and `aws wafv2 get-*` output carry it base64-encoded.
// These helpers convert a whole document between the two forms.
export type BlobEncoding = 'text' | 'base64';

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function decodeBase64Text(value: string): string | undefined {
  if (!BASE64.test(value)) return undefined;
  try {
    return strictUtf8.decode(Buffer.from(value, 'base64'));
  } catch {
    return undefined;
  }
}

/**
 * Visit every ByteMatchStatement.SearchString in an unvalidated JSON value and replace it. Works on
 * raw JSON (before schema validation) so that the schema sees text.
 */
function mapSearchStrings(value: unknown, fn: (s: string) => string): unknown {
  if (Array.isArray(value)) return value.map((v) => mapSearchStrings(v, fn));
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (
      k === 'ByteMatchStatement' &&
      v !== null &&
      typeof v === 'object' &&
      typeof (v as { SearchString?: unknown }).SearchString === 'string'
    ) {
      const b = v as { SearchString: string };
      out[k] = { ...(mapSearchStrings(v, fn) as object), SearchString: fn(b.SearchString) };
    } else {
      out[k] = mapSearchStrings(v, fn);
    }
  }
  return out;
}

/** Base64-decode every SearchString; returns the strings that were not valid base64 UTF-8. */
export function decodeSearchStrings(value: unknown): { value: unknown; undecodable: string[] } {
  const undecodable: string[] = [];
  const decoded = mapSearchStrings(value, (s) => {
    const text = decodeBase64Text(s);
    if (text === undefined) undecodable.push(s);
    return text ?? s;
  });
  return { value: decoded, undecodable };
}

export function encodeSearchStrings<T>(value: T): T {
  return mapSearchStrings(value, (s) => Buffer.from(s, 'utf8').toString('base64')) as T;
}
