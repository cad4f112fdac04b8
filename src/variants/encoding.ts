// Percent-encoding helpers for variant techniques. Everything works on byte strings (see ../bytes.ts).
//
// A *slot* is one place a payload can sit: a path segment, a query or form name/value, or plain text (a
// header value, a raw body, a JSON string after JSON decoding). For URL slots we work on the *decoded
// view*, the bytes the server sees after decoding once (`%HH`, and `+` → space in query and form), and
// write changes back without disturbing the encoding of the bytes we did not touch.

export type SlotKind = 'path' | 'query' | 'form' | 'text';

const HEX = '0123456789ABCDEF';

/** `%HH` (upper-case hex) for one byte. */
function pct(code: number): string {
  return '%' + HEX[(code >> 4) & 0xf]! + HEX[code & 0xf]!;
}

function hexVal(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

export function isAlnumCode(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

/** `+` means a space in query strings and form bodies (what servers do), not in paths. */
function plusIsSpace(kind: SlotKind): boolean {
  return kind === 'query' || kind === 'form';
}

/** One raw piece of a slot and the byte it decodes to. */
export interface Unit {
  raw: string;
  char: string;
}

/** Split a raw slot into units: a valid `%HH` escape, a `+` (a space in query/form), or one raw byte. */
export function toUnits(raw: string, kind: SlotKind): Unit[] {
  const out: Unit[] = [];
  if (kind === 'text') {
    for (const ch of raw) out.push({ raw: ch, char: ch });
    return out;
  }
  const plus = plusIsSpace(kind);
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 0x25 && i + 2 < raw.length) {
      const hi = hexVal(raw.charCodeAt(i + 1));
      const lo = hexVal(raw.charCodeAt(i + 2));
      if (hi >= 0 && lo >= 0) {
        out.push({ raw: raw.slice(i, i + 3), char: String.fromCharCode((hi << 4) | lo) });
        i += 2;
        continue;
      }
    }
    out.push({ raw: raw[i]!, char: plus && c === 0x2b ? ' ' : raw[i]! });
  }
  return out;
}

/** What a server sees after decoding the slot once. Invalid `%` escapes stay as they are. */
export function decodeSlot(raw: string, kind: SlotKind): string {
  if (kind === 'text') return raw;
  let out = '';
  for (const u of toUnits(raw, kind)) out += u.char;
  return out;
}

/** Percent-encode every byte of `text` for which `keep` is false. */
function encodeBytes(text: string, keep: (c: number) => boolean): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    out += keep(c) ? text[i]! : pct(c);
  }
  return out;
}

/** Encode every non-alphanumeric byte (the payload-bearing characters). */
export function encodeNonAlnum(text: string): string {
  return encodeBytes(text, isAlnumCode);
}

/** Encode every byte. */
export function encodeAll(text: string): string {
  return encodeBytes(text, () => false);
}

// Characters a client can always send unencoded in each URL context (RFC 3986 pchar / query, minus the
// separators that would change the structure: `/ ? #` in a path segment, `; ` because Tomcat and Jetty
// treat it as a path parameter, `& = + #` in query and form parameters).
const PATH_SAFE = new Set("-._~!$&'()*+,=:@");
const PARAM_SAFE = new Set("-._~!$'()*,:@/?");

/** Whether a decoded byte can go into the slot unencoded. */
function safeRaw(c: number, kind: SlotKind, rawInSlot: ReadonlySet<string>): boolean {
  if (kind === 'text') return true;
  if (isAlnumCode(c)) return true;
  const ch = String.fromCharCode(c);
  const set = kind === 'path' ? PATH_SAFE : PARAM_SAFE;
  if (set.has(ch)) return true;
  // A byte the original slot already carried raw may stay raw (keeps the diff small), unless it is
  // structural in this context or not a visible ASCII character.
  if (c <= 0x20 || c >= 0x7f) return false;
  if ('%&+#'.includes(ch)) return false;
  if (kind === 'path' && '/?;'.includes(ch)) return false;
  return rawInSlot.has(ch);
}

/** The bytes a raw slot carries unencoded. */
function rawCharsOf(slotRaw: string, kind: SlotKind): Set<string> {
  const rawChars = new Set<string>();
  for (const u of toUnits(slotRaw, kind)) if (u.raw.length === 1 && u.raw === u.char) rawChars.add(u.raw);
  return rawChars;
}

/** Encode decoded `text` for insertion into a slot of `kind` whose original raw form is `slotRaw`. */
export function encodeFor(text: string, kind: SlotKind, slotRaw: string | ReadonlySet<string> = ''): string {
  if (kind === 'text') return text;
  const rawChars = typeof slotRaw === 'string' ? rawCharsOf(slotRaw, kind) : slotRaw;
  return encodeBytes(text, (c) => safeRaw(c, kind, rawChars));
}

/**
 * A change to the decoded view of a slot: replace decoded bytes [start, end) with `text` (decoded bytes,
 * encoded for the slot on the way back), or with `raw` text written as is.
 */
export interface Edit {
  start: number;
  end: number;
  text: string;
  raw?: boolean;
}

/**
 * Apply edits (positions in the decoded view) to a raw slot. Units outside the edits keep their raw form,
 * so an escape the attacker chose stays as it was. Overlapping edits are a programming error.
 */
export function applyEdits(raw: string, kind: SlotKind, edits: readonly Edit[]): string {
  if (edits.length === 0) return raw;
  const sorted = [...edits].sort((a, b) => a.start - b.start || a.end - b.end);
  if (kind === 'text') {
    // One unit per byte: splice the string directly (bodies can be large).
    let out = '';
    let at = 0;
    for (const e of sorted) {
      if (e.start < at || e.end < e.start || e.end > raw.length) {
        throw new Error(`bad edit [${e.start}, ${e.end}) at ${at} of ${raw.length}`);
      }
      out += raw.slice(at, e.start) + e.text;
      at = e.end;
    }
    return out + raw.slice(at);
  }
  const units = toUnits(raw, kind);
  const rawChars = rawCharsOf(raw, kind);
  let out = '';
  let at = 0; // decoded index == unit index
  for (const e of sorted) {
    if (e.start < at || e.end < e.start || e.end > units.length) {
      throw new Error(`bad edit [${e.start}, ${e.end}) at ${at} of ${units.length}`);
    }
    for (; at < e.start; at++) out += units[at]!.raw;
    out += e.raw ? e.text : encodeFor(e.text, kind, rawChars);
    at = e.end;
  }
  for (; at < units.length; at++) out += units[at]!.raw;
  return out;
}

/** Edit the decoded view of a slot with `fn` and write the changes back; the slot unchanged when none. */
export function editSlot(raw: string, kind: SlotKind, fn: (decoded: string) => Edit[]): string {
  const decoded = decodeSlot(raw, kind);
  const edits = fn(decoded);
  return edits.length ? applyEdits(raw, kind, edits) : raw;
}

/** Sorted edits with any edit that overlaps an earlier one dropped. */
export function nonOverlapping(edits: readonly Edit[]): Edit[] {
  const out: Edit[] = [];
  let end = -1;
  for (const e of [...edits].sort((a, b) => a.start - b.start || a.end - b.end)) {
    if (e.start < end || (e.start === end && e.start === e.end && out.at(-1)?.start === e.start)) continue;
    out.push(e);
    end = e.end;
  }
  return out;
}

/** Every match of a global regex as edits, the replacement computed from the match. */
export function regexEdits(
  text: string,
  re: RegExp,
  replace: (m: RegExpExecArray) => string | undefined,
): Edit[] {
  const edits: Edit[] = [];
  // eslint-disable-next-line security/detect-non-literal-regexp -- a copy of the caller's RegExp with the g flag, no new source
  const g = new RegExp(re.source, re.flags.includes('g') ? re.flags : re.flags + 'g');
  for (let m = g.exec(text); m; m = g.exec(text)) {
    if (m[0] === '') {
      g.lastIndex++;
      continue;
    }
    const text2 = replace(m);
    if (text2 !== undefined && text2 !== m[0])
      edits.push({ start: m.index, end: m.index + m[0].length, text: text2 });
  }
  return edits;
}
