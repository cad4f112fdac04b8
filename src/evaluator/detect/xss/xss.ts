// A TypeScript port of libinjection's XSS detector (libinjection_xss.c, libinjection 3.9.2,
// BSD-3-Clause, see ../NOTICE). The input is tokenized as HTML5 five times: as document text, and as
// if it started inside an unquoted, single-, double- or back-quoted attribute value. It is XSS when a
// token hits a blacklist: a dangerous tag (script, iframe, svg*, xsl*, ...), a DOCTYPE, an event
// handler or other dangerous attribute, a URL attribute whose value starts with a script-capable
// scheme (javascript:, vbscript:, data:, view-source:, after HTML-entity decoding), or an IE-specific
// comment form. Inputs are byte strings.

import { H5, H5_START, Html5Tokenizer, type H5Start } from './html5.js';

const ATTR_NONE = 0;
const ATTR_BLACK = 1; // always banned
const ATTR_URL = 2; // value is a URL
const ATTR_STYLE = 3; // value is CSS
const ATTR_INDIRECT = 4; // value names another attribute (SVG attributeName)
type AttrType = 0 | 1 | 2 | 3 | 4;

/** BLACKATTR: attributes whose value is checked (URL), or which are banned outright. */
const BLACK_ATTRS: ReadonlyMap<string, AttrType> = new Map<string, AttrType>([
  ['ACTION', ATTR_URL], // form
  ['ATTRIBUTENAME', ATTR_INDIRECT], // SVG
  ['BY', ATTR_URL], // SVG
  ['BACKGROUND', ATTR_URL], // IE6, O11
  ['DATAFORMATAS', ATTR_BLACK], // IE
  ['DATASRC', ATTR_BLACK], // IE
  ['DYNSRC', ATTR_URL], // obsolete img attribute
  ['FILTER', ATTR_STYLE], // Opera, SVG inline style
  ['FORMACTION', ATTR_URL], // HTML 5
  ['FOLDER', ATTR_URL], // only on A tags, IE-only
  ['FROM', ATTR_URL], // SVG
  ['HANDLER', ATTR_URL], // SVG Tiny, Opera
  ['HREF', ATTR_URL],
  ['LOWSRC', ATTR_URL], // obsolete img attribute
  ['POSTER', ATTR_URL], // Opera 10,11
  ['SRC', ATTR_URL],
  ['STYLE', ATTR_STYLE],
  ['TO', ATTR_URL], // SVG
  ['VALUES', ATTR_URL], // SVG
  ['XLINK:HREF', ATTR_URL],
]);

/** BLACKTAG. Any tag starting with "svg" or "xsl" is banned too. */
const BLACK_TAGS: ReadonlySet<string> = new Set([
  'APPLET',
  'BASE',
  'COMMENT', // IE http://html5sec.org/#38
  'EMBED',
  'FRAME',
  'FRAMESET',
  'HANDLER', // Opera SVG, effectively a script tag
  'IFRAME',
  'IMPORT',
  'ISINDEX',
  'LINK',
  'LISTENER',
  'META',
  'NOSCRIPT',
  'OBJECT',
  'SCRIPT',
  'STYLE',
  'VMLFRAME',
  'XML',
  'XSS',
]);

/** URL schemes that run script. "JAVA" covers "javascript:". */
const BLACK_URL_PREFIXES = ['DATA', 'VIEW-SOURCE', 'JAVA', 'VBSCRIPT'];

/** cstrcasecmp_with_null(upper, s) == 0: NULs in `s` are ignored, ASCII case-insensitive equality. */
function eqIgnoringNul(upper: string, s: string): boolean {
  let j = 0;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c === 0) continue;
    if (c >= 0x61 && c <= 0x7a) c -= 0x20;
    if (j >= upper.length || upper.charCodeAt(j) !== c) return false;
    j++;
  }
  return j === upper.length;
}

function lower(c: number): number {
  return c >= 0x41 && c <= 0x5a ? c + 0x20 : c;
}

function startsWithI(s: string, lowerPrefix: string): boolean {
  if (s.length < lowerPrefix.length) return false;
  for (let i = 0; i < lowerPrefix.length; i++) {
    if (lower(s.charCodeAt(i)) !== lowerPrefix.charCodeAt(i)) return false;
  }
  return true;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  return 256;
}

/**
 * html_decode_char_at: decodes one byte or one numeric character reference (&#65; &#x41;) at s[i],
 * within s[i, end). Returns [value, bytes consumed]. Named entities are not decoded. Bytes past `end`
 * read as NUL (in the C code they are the delimiter that ended the token, never a digit).
 */
function htmlDecodeCharAt(s: string, i: number, end: number): [number, number] {
  const len = end - i;
  const at = (k: number): number => (i + k < end ? s.charCodeAt(i + k) : 0);
  if (len <= 0) return [-1, 0];
  const c0 = s.charCodeAt(i);
  if (c0 !== 0x26 || len < 2) return [c0, 1];
  if (at(1) !== 0x23) return [0x26, 1];
  const c2 = at(2);
  if (c2 === 0x78 || c2 === 0x58) {
    let ch = hexValue(at(3));
    if (ch === 256) return [0x26, 1];
    let val = ch;
    let k = 4;
    while (k < len) {
      const c = s.charCodeAt(i + k);
      if (c === 0x3b) return [val, k + 1];
      ch = hexValue(c);
      if (ch === 256) return [val, k];
      val = val * 16 + ch;
      if (val > 0x1000ff) return [0x26, 1];
      k++;
    }
    return [val, k];
  }
  if (c2 < 0x30 || c2 > 0x39) return [0x26, 1];
  let val = c2 - 0x30;
  let k = 3;
  while (k < len) {
    const c = s.charCodeAt(i + k);
    if (c === 0x3b) return [val, k + 1];
    if (c < 0x30 || c > 0x39) return [val, k];
    val = val * 10 + (c - 0x30);
    if (val > 0x1000ff) return [0x26, 1];
    k++;
  }
  return [val, k];
}

/**
 * htmlencode_startswith: does the HTML-encoded s[i, end) start with `upper`, ignoring leading
 * whitespace/control characters and any NUL or newline? Decoded values are compared as a C `char`
 * (low byte), as in the C code.
 */
function htmlEncodedStartsWith(upper: string, s: string, i: number, end: number): boolean {
  let j = 0;
  let first = true;
  while (i < end) {
    if (j === upper.length) return true;
    const [decoded, consumed] = htmlDecodeCharAt(s, i, end);
    i += consumed;
    let cb = decoded;
    if (first && cb <= 32) continue;
    first = false;
    if (cb === 0 || cb === 10) continue;
    if (cb >= 0x61 && cb <= 0x7a) cb -= 0x20;
    if ((cb & 0xff) !== upper.charCodeAt(j)) return false;
    j++;
  }
  return j === upper.length;
}

/** Returns the matched scheme, or undefined. */
function blackUrl(s: string): string | undefined {
  let i = 0;
  // Skip whitespace, control characters and every byte >= 0x7F (Opera's UTF-8 spaces, EUC-JP).
  while (i < s.length && (s.charCodeAt(i) <= 32 || s.charCodeAt(i) >= 127)) i++;
  for (const prefix of BLACK_URL_PREFIXES) {
    if (htmlEncodedStartsWith(prefix, s, i, s.length)) return prefix;
  }
  return undefined;
}

/** Longest name in BLACK_TAGS and BLACK_ATTRS. */
const LONGEST_NAME = Math.max(...[...BLACK_TAGS, ...BLACK_ATTRS.keys()].map((n) => n.length));

/**
 * `s` as eqIgnoringNul compares it to an upper-case ASCII name: NULs dropped, a-z upper-cased; or
 * undefined when it cannot equal any listed name (a byte >= 0x80, or too long). Looking that key up
 * replaces a loop of eqIgnoringNul over every name: blackAttr, called for each attribute-name token
 * of five tokenizer passes, was the largest self time of the XSS check in bench:engine (65 of ~1,030
 * ms of the engine's CPU profile, node --cpu-prof --import tsx, 2026-12).
 */
function nameKey(s: string): string | undefined {
  const key = s.includes('\0') ? s.replaceAll('\0', '') : s;
  if (key.length > LONGEST_NAME) return undefined;
  for (let i = 0; i < key.length; i++) if (key.charCodeAt(i) >= 0x80) return undefined;
  return key.toUpperCase(); // exact on ASCII: a-z only
}

function blackTag(s: string): boolean {
  if (s.length < 3) return false;
  const key = nameKey(s);
  if (key !== undefined && BLACK_TAGS.has(key)) return true;
  return startsWithI(s, 'svg') || startsWithI(s, 'xsl');
}

function blackAttr(s: string): AttrType {
  if (s.length < 2) return ATTR_NONE;
  if (s.length >= 5) {
    if (startsWithI(s, 'on')) return ATTR_BLACK; // on* event handlers
    const head = s.slice(0, 5);
    // xmlns / xlink can create arbitrary tags
    if (eqIgnoringNul('XMLNS', head) || eqIgnoringNul('XLINK', head)) return ATTR_BLACK;
  }
  const key = nameKey(s);
  return (key !== undefined && BLACK_ATTRS.get(key)) || ATTR_NONE;
}

function printable(s: string, max = 40): string {
  const cut = s.length > max ? s.slice(0, max) + '...' : s;
  // eslint-disable-next-line no-control-regex
  return cut.replace(/[\x00-\x1f\x7f-\xff]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** libinjection_is_xss for one starting context. Returns a reason when it is XSS. */
function xssInContext(s: string, start: H5Start): string | undefined {
  const h5 = new Html5Tokenizer(s, start);
  let attr: AttrType = ATTR_NONE;
  let attrName = '';
  while (h5.next()) {
    if (h5.tokenType !== H5.ATTR_VALUE) attr = ATTR_NONE;
    switch (h5.tokenType) {
      case H5.DOCTYPE:
        return 'doctype';
      case H5.TAG_NAME_OPEN: {
        const name = h5.token();
        if (blackTag(name)) return `tag <${printable(name)}>`;
        break;
      }
      case H5.ATTR_NAME:
        attrName = h5.token();
        attr = blackAttr(attrName);
        break;
      case H5.ATTR_VALUE: {
        const value = h5.token();
        switch (attr) {
          case ATTR_NONE:
            break;
          case ATTR_BLACK:
            return `attribute ${printable(attrName)}`;
          case ATTR_URL: {
            const scheme = blackUrl(value);
            if (scheme) return `${scheme.toLowerCase()} URL in attribute ${printable(attrName)}`;
            break;
          }
          case ATTR_STYLE:
            return `style attribute ${printable(attrName)}`;
          case ATTR_INDIRECT:
            if (blackAttr(value) !== ATTR_NONE) return `attribute ${printable(value)} named indirectly`;
            break;
        }
        attr = ATTR_NONE;
        break;
      }
      case H5.TAG_COMMENT: {
        const c = h5.token();
        if (c.includes('`')) return 'comment with a backtick'; // IE ends tags on '`'
        if (c.length > 3) {
          if (c[0] === '[' && startsWithI(c.slice(1), 'if')) return 'IE conditional comment';
          if (startsWithI(c, 'xml')) return 'xml processing instruction';
        }
        if (c.length > 5) {
          const head = c.slice(0, 6);
          if (eqIgnoringNul('IMPORT', head)) return 'IE <?import';
          if (eqIgnoringNul('ENTITY', head)) return 'XML entity declaration';
        }
        break;
      }
    }
  }
  return undefined;
}

const CONTEXTS: readonly H5Start[] = [
  H5_START.DATA_STATE,
  H5_START.VALUE_NO_QUOTE,
  H5_START.VALUE_SINGLE_QUOTE,
  H5_START.VALUE_DOUBLE_QUOTE,
  H5_START.VALUE_BACK_QUOTE,
];

/** libinjection_xss: XSS in any of the five starting contexts. */
export function libinjectionXss(s: string): { matched: boolean; reason?: string } {
  for (const ctx of CONTEXTS) {
    const reason = xssInContext(s, ctx);
    if (reason !== undefined) return { matched: true, reason };
  }
  return { matched: false };
}
