// Small helpers over JSON *text*: where each element of an array starts (so errors in a HAR file or a
// JSON array can name a line), and splitting concatenated JSON values (`{...}{...}`, as Kinesis Data
// Firehose writes AWS WAF logs to S3 when no delimiter is configured). Values are never built here;
// JSON.parse does that.

import { InputLimitError, jsonDepthOffset } from '../core/limits.js';

const MAX_MESSAGE = 200;

/**
 * JSON.parse with a short, one-line message on failure. Text nested deeper than the `json-depth`
 * limit is refused unparsed (the message names the limit), so no consumer of a value from here can
 * overflow the stack.
 */
export function parseJson(text: string): { value: unknown } | { error: string; offset?: number } {
  const deep = jsonDepthOffset(text);
  if (deep >= 0)
    return { error: new InputLimitError('json-depth', 'nesting goes deeper here').message, offset: deep };
  try {
    return { value: JSON.parse(text) as unknown };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const pos = /at position (\d+)/.exec(message);
    const short = message.length > MAX_MESSAGE ? message.slice(0, MAX_MESSAGE) + '…' : message;
    return pos
      ? { error: `invalid JSON: ${short}`, offset: Number(pos[1]) }
      : { error: `invalid JSON: ${short}` };
  }
}

function isWs(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === '\r';
}

function skipWs(text: string, i: number): number {
  while (i < text.length && isWs(text[i])) i++;
  return i;
}

/** Offset just after the string literal starting at `i` (which holds `"`). */
function skipString(text: string, i: number): number {
  i++;
  while (i < text.length) {
    const c = text[i];
    if (c === '\\') i += 2;
    else if (c === '"') return i + 1;
    else i++;
  }
  return i;
}

/** Offset just after the JSON value starting at `i` (no validation; iterative, so depth is no risk). */
function skipValue(text: string, i: number): number {
  const c = text[i];
  if (c === '"') return skipString(text, i);
  if (c === '{' || c === '[') {
    let depth = 0;
    while (i < text.length) {
      const d = text[i];
      if (d === '"') {
        i = skipString(text, i);
        continue;
      }
      if (d === '{' || d === '[') depth++;
      else if (d === '}' || d === ']') {
        depth--;
        if (depth === 0) return i + 1;
      }
      i++;
    }
    return i;
  }
  while (i < text.length && !isWs(text[i]) && text[i] !== ',' && text[i] !== ']' && text[i] !== '}') i++;
  return i;
}

/**
 * Start offsets of the elements of the array found at `path` (object keys from the root; `[]` means the
 * root itself is the array). Returns [] when there is no such array. Assumes `text` is valid JSON.
 */
export function arrayElementOffsets(text: string, path: readonly string[]): number[] {
  let i = skipWs(text, 0);
  for (const key of path) {
    if (text[i] !== '{') return [];
    i = skipWs(text, i + 1);
    let found = false;
    while (i < text.length && text[i] !== '}') {
      const keyEnd = skipString(text, i);
      let name: string;
      try {
        name = JSON.parse(text.slice(i, keyEnd)) as string;
      } catch {
        return [];
      }
      i = skipWs(text, keyEnd);
      if (text[i] !== ':') return [];
      i = skipWs(text, i + 1);
      if (name === key) {
        found = true;
        break;
      }
      i = skipWs(text, skipValue(text, i));
      if (text[i] === ',') i = skipWs(text, i + 1);
    }
    if (!found) return [];
  }
  if (text[i] !== '[') return [];
  const out: number[] = [];
  i = skipWs(text, i + 1);
  while (i < text.length && text[i] !== ']') {
    out.push(i);
    i = skipWs(text, skipValue(text, i));
    if (text[i] === ',') i = skipWs(text, i + 1);
    else break;
  }
  return out;
}

/**
 * Split text holding several top-level JSON values back to back (`{...}{...}` or `{...} {...}`) into
 * the text of each value. A single value gives a one-element list.
 */
export function splitConcatenatedJson(text: string): string[] {
  const out: string[] = [];
  let i = skipWs(text, 0);
  while (i < text.length) {
    const end = skipValue(text, i);
    if (end <= i) break;
    out.push(text.slice(i, end));
    i = skipWs(text, end);
  }
  return out;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
