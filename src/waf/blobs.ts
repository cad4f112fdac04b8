// SearchString is a blob. Rule documents written by people (console JSON editor, CloudFormation,
// Terraform) carry it as text; the raw wire and `aws wafv2 get-*` output carry it base64-encoded.
// These helpers convert a whole document between the two forms.
import { formatPath, type JsonPath } from './findings.js';

export type BlobEncoding = 'text' | 'base64';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The bytes of strict base64 (RFC 4648 §4: the standard alphabet, `=` padding to a multiple of 4,
 * zero pad bits, no whitespace), or undefined. Node's decoder skips what it does not understand, so
 * the input is held to the canonical encoding of what it decoded: one linear pass, no regex.
 */
export function decodeStrictBase64(value: string): Buffer | undefined {
  if (value.length % 4 !== 0) return undefined;
  const bytes = Buffer.from(value, 'base64');
  return bytes.toString('base64') === value ? bytes : undefined;
}

export interface BlobProblem {
  /** JSON path of the SearchString in the document given. */
  path: string;
  value: string;
  /** `base64`: not strict base64. `binary`: base64 of bytes that are not UTF-8 text (kept as written). */
  problem: 'base64' | 'binary';
  /** Decoded length in bytes, when it decoded. */
  bytes?: number;
}

/**
 * Visit every ByteMatchStatement.SearchString in an unvalidated JSON value and replace it. Works on
 * raw JSON (before schema validation) so that the schema sees text. Recursive: callers hold the value
 * to the `json-depth` limit first (`checkDocumentLimits`).
 */
function mapSearchStrings(
  value: unknown,
  fn: (s: string, path: JsonPath) => string,
  path: JsonPath = [],
): unknown {
  if (Array.isArray(value)) return value.map((v, i) => mapSearchStrings(v, fn, [...path, i]));
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
      out[k] = {
        ...(mapSearchStrings(v, fn, [...path, k]) as object),
        SearchString: fn(b.SearchString, [...path, k, 'SearchString']),
      };
    } else {
      out[k] = mapSearchStrings(v, fn, [...path, k]);
    }
  }
  return out;
}

/**
 * Base64-decode every SearchString. What is not strict base64, or decodes to bytes that are not
 * UTF-8 text (wafgen's model holds SearchString as text), is kept as written and reported.
 */
export function decodeSearchStrings(value: unknown): { value: unknown; problems: BlobProblem[] } {
  const problems: BlobProblem[] = [];
  const decoded = mapSearchStrings(value, (s, path) => {
    const bytes = decodeStrictBase64(s);
    if (!bytes) {
      problems.push({ path: formatPath(path), value: s, problem: 'base64' });
      return s;
    }
    try {
      return strictUtf8.decode(bytes);
    } catch {
      problems.push({ path: formatPath(path), value: s, problem: 'binary', bytes: bytes.length });
      return s;
    }
  });
  return { value: decoded, problems };
}

export function encodeSearchStrings<T>(value: T): T {
  return mapSearchStrings(value, (s) => Buffer.from(s, 'utf8').toString('base64')) as T;
}
