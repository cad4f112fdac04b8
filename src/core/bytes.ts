// AWS WAF inspects bytes, not characters. Inside the engine every inspected value is a "byte string":
// a JS string whose char codes are all 0x00–0xFF, one char per byte (latin1). Transformations, matchers
// and the regex engine all work on byte strings, so `.` matches one byte and lengths are byte counts,
// as in AWS. These two helpers are the only way text crosses that boundary.

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: false });

/** UTF-8 encode `text` and return the bytes as a byte string. */
export function utf8ToByteString(text: string): string {
  // Fast path: pure ASCII is already its own byte string.
  // eslint-disable-next-line no-control-regex
  if (/^[\x00-\x7f]*$/.test(text)) return text;
  return bytesToByteString(encoder.encode(text));
}

/** Decode a byte string as UTF-8 (invalid sequences become U+FFFD), for display only. */
export function byteStringToUtf8(bytes: string): string {
  return decoder.decode(byteStringToBytes(bytes));
}

function bytesToByteString(bytes: Uint8Array): string {
  let out = '';
  const chunk = 0x8000;
  for (let i = 0; i < bytes.length; i += chunk) {
    out += String.fromCharCode(...bytes.subarray(i, i + chunk));
  }
  return out;
}

function byteStringToBytes(bytes: string): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = bytes.charCodeAt(i) & 0xff;
  return out;
}

/** Byte length of `text` once UTF-8 encoded. */
export function utf8ByteLength(text: string): number {
  return encoder.encode(text).length;
}
