import { fromCode, hexValue } from './shared.js';

// HTML_ENTITY_DECODE. AWS documents &quot; &nbsp; (→ 0xA0) &lt; &gt; &#xhhhh; and &#nnnn;. The details follow
// ModSecurity's t:htmlEntityDecode: the ';' is optional, names are case-insensitive, an unknown name or a
// '&#' / '&#x' without digits is copied as is, and a numeric entity keeps only the low byte of its value
// (values that overflow a signed 64-bit strtol clamp to 0xFF, as there). ModSecurity knows quot, amp, lt, gt
// and nbsp; the other names below (HTML5 names of ASCII characters, e.g. &lpar; &colon; &bsol; &lcub;) are
// added because AWS's current guide is reported to decode more named entities (unconfirmed).

const NAMED: ReadonlyMap<string, number> = new Map([
  ['quot', 0x22],
  ['amp', 0x26],
  ['lt', 0x3c],
  ['gt', 0x3e],
  ['nbsp', 0xa0],
  ['tab', 0x09],
  ['newline', 0x0a],
  ['excl', 0x21],
  ['num', 0x23],
  ['dollar', 0x24],
  ['percnt', 0x25],
  ['apos', 0x27],
  ['lpar', 0x28],
  ['rpar', 0x29],
  ['ast', 0x2a],
  ['midast', 0x2a],
  ['plus', 0x2b],
  ['comma', 0x2c],
  ['period', 0x2e],
  ['sol', 0x2f],
  ['colon', 0x3a],
  ['semi', 0x3b],
  ['equals', 0x3d],
  ['quest', 0x3f],
  ['commat', 0x40],
  ['lsqb', 0x5b],
  ['lbrack', 0x5b],
  ['bsol', 0x5c],
  ['rsqb', 0x5d],
  ['rbrack', 0x5d],
  ['hat', 0x5e],
  ['lowbar', 0x5f],
  ['grave', 0x60],
  ['lcub', 0x7b],
  ['lbrace', 0x7b],
  ['verbar', 0x7c],
  ['vert', 0x7c],
  ['rcub', 0x7d],
  ['rbrace', 0x7d],
]);
const LONGEST_NAME = 7;
const INT64_MAX = 2 ** 63 - 1;

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isAlnum(c: number): boolean {
  return isDigit(c) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

// The text between entities is copied in slices (see ./js-decode.ts for why).
export function htmlEntityDecode(input: string): string {
  let i = input.indexOf('&');
  if (i < 0) return input;
  const n = input.length;
  let out = '';
  let from = 0; // input[from, i) is copied as it is
  // A trailing lone '&' stays, with the rest of the text.
  while (i >= 0 && i + 1 < n) {
    let j = i + 1;
    // The decoded entity, or undefined when there is none here: the text stays as it is, and the
    // search goes on at `next` ('#' after "&#" without digits; after an unknown name).
    let piece: string | undefined;
    let next = i + 1;
    if (input.charCodeAt(j) === 0x23 /* # */) {
      j++;
      const hex = input.charCodeAt(j) === 0x78 /* x */ || input.charCodeAt(j) === 0x58; /* X */
      if (hex) j++;
      const base = hex ? 16 : 10;
      const start = j;
      let low = 0;
      let big = 0;
      for (; j < n; j++) {
        const c = input.charCodeAt(j);
        const d = hex ? hexValue(c) : isDigit(c) ? c - 0x30 : -1;
        if (d < 0) break;
        low = (low * base + d) & 0xff;
        if (big <= INT64_MAX) big = big * base + d;
      }
      // "&#" or "&#x" without digits: not an entity.
      if (j !== start) {
        piece = fromCode(big > INT64_MAX ? 0xff : low);
        next = input.charCodeAt(j) === 0x3b /* ; */ ? j + 1 : j;
      }
    } else {
      const start = j;
      while (j < n && isAlnum(input.charCodeAt(j))) j++;
      const code = j - start <= LONGEST_NAME ? NAMED.get(input.slice(start, j).toLowerCase()) : undefined;
      if (code !== undefined) {
        piece = fromCode(code);
        next = input.charCodeAt(j) === 0x3b /* ; */ ? j + 1 : j;
      } else if (j !== start) next = j; // an unknown name stays unchanged
    }
    if (piece !== undefined) {
      out += input.slice(from, i) + piece;
      from = next;
    }
    i = input.indexOf('&', next);
  }
  return from === 0 ? input : out + input.slice(from);
}
