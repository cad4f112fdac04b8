// A TypeScript port of libinjection's SQLi detector (libinjection 3.9.2, BSD-3-Clause, see ../NOTICE).
//
// libinjection does not parse SQL. It tokenizes the input the way a loose SQL lexer would, folds the
// token stream (merging "UNION ALL", dropping unary operators, collapsing `1+1` into `1`, ...) until at
// most five tokens remain, turns their types into a short "fingerprint" such as `s&sos` and looks that
// up in a fixed list of fingerprints seen in attacks (./data.ts). A small false-positive filter then
// rejects some short fingerprints. The input is tried as-is, then as if it followed a single quote, then
// as if it followed a double quote, each in ANSI comment mode and, when a `--x` or `#` comment was seen,
// again in MySQL comment mode.
//
// Inputs are byte strings (see ../../bytes.ts): one char per byte, char codes 0x00-0xFF. Everything is
// byte-exact; case folding is ASCII only, as in the C code.
//
// Differences from the C code, all on inputs where the C code reads outside the input buffer:
//  * `$tag$...$tag$` strings search for the closing tag after the opening tag (the C code searches from
//    a position that ignores where the opening tag started).
//  * A comparison that would read the byte just past the end of the input reads it as NUL, which is
//    what the C code sees for the NUL-terminated strings it is normally given.

import { SQLI_FINGERPRINTS, SQLI_KEYWORDS } from './data.js';

/** Token type characters, as in libinjection. `''` is "no token". */
const T = {
  NONE: '',
  KEYWORD: 'k',
  UNION: 'U',
  GROUP: 'B',
  EXPRESSION: 'E',
  SQLTYPE: 't',
  FUNCTION: 'f',
  BAREWORD: 'n',
  NUMBER: '1',
  VARIABLE: 'v',
  STRING: 's',
  OPERATOR: 'o',
  LOGIC_OPERATOR: '&',
  COMMENT: 'c',
  COLLATE: 'A',
  LEFTPARENS: '(',
  RIGHTPARENS: ')',
  LEFTBRACE: '{',
  RIGHTBRACE: '}',
  DOT: '.',
  COMMA: ',',
  COLON: ':',
  SEMICOLON: ';',
  TSQL: 'T',
  UNKNOWN: '?',
  EVIL: 'X',
  BACKSLASH: '\\',
} as const;

/** Token values are truncated to 31 bytes, as libinjection's fixed `char val[32]`. */
const TOKEN_SIZE = 32;
const MAX_TOKENS = 5;

export const FLAG_QUOTE_NONE = 1;
export const FLAG_QUOTE_SINGLE = 2;
export const FLAG_QUOTE_DOUBLE = 4;
export const FLAG_SQL_ANSI = 8;
export const FLAG_SQL_MYSQL = 16;

const CHAR_SINGLE = "'";
const CHAR_DOUBLE = '"';
const CHAR_TICK = '`';

export interface SqliToken {
  type: string;
  pos: number;
  len: number;
  val: string;
  strOpen: string;
  strClose: string;
  count: number;
}

function newToken(): SqliToken {
  return { type: '', pos: 0, len: 0, val: '', strOpen: '', strClose: '', count: 0 };
}

function clearToken(t: SqliToken): void {
  t.type = '';
  t.pos = 0;
  t.len = 0;
  t.val = '';
  t.strOpen = '';
  t.strClose = '';
  t.count = 0;
}

function copyToken(dst: SqliToken, src: SqliToken): void {
  dst.type = src.type;
  dst.pos = src.pos;
  dst.len = src.len;
  dst.val = src.val;
  dst.strOpen = src.strOpen;
  dst.strClose = src.strClose;
  dst.count = src.count;
}

/** st_assign: value is truncated to TOKEN_SIZE - 1 bytes. `len` may exceed what `src` holds past `at`. */
function assign(t: SqliToken, type: string, pos: number, len: number, src: string, at: number): void {
  const last = len < TOKEN_SIZE ? len : TOKEN_SIZE - 1;
  t.type = type;
  t.pos = pos;
  t.val = src.substr(at, last);
  // The C code copies `last` bytes; past the end of the input it would copy the terminating NUL.
  t.len = last;
}

function assignChar(t: SqliToken, type: string, pos: number, ch: string): void {
  t.type = type;
  t.pos = pos;
  t.len = 1;
  t.val = ch;
}

/**
 * ASCII-only upper-casing, as libinjection's cstrcasecmp (never touches bytes >= 0x80). On an
 * all-ASCII string String#toUpperCase is exactly that, and native: lookupWord, which calls this
 * for every word token, went from 3.3% to <1% of bench:engine's CPU (node --cpu-prof --import tsx,
 * the engine loop alone, 2026-12).
 */
function asciiUpper(s: string): string {
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) >= 0x80) return asciiUpperBytes(s);
  }
  return s.toUpperCase();
}

function asciiUpperBytes(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out += c >= 0x61 && c <= 0x7a ? String.fromCharCode(c - 0x20) : s[i];
  }
  return out;
}

/** Case-insensitive equality of a token value with an upper-case constant (cstrcasecmp(...) == 0). */
function ieq(upper: string, val: string): boolean {
  return val.length === upper.length && asciiUpper(val) === upper;
}

const KEYWORD_LENGTHS = [...SQLI_KEYWORDS.keys()].map((k) => k.length);
const SHORTEST_KEYWORD = Math.min(...KEYWORD_LENGTHS);
const LONGEST_KEYWORD = Math.max(...KEYWORD_LENGTHS);

/**
 * Keyword table lookup: word -> type char, or '' when the word is not a keyword. A word shorter or
 * longer than every keyword is not upper-cased at all: isSqli over the 13,082 query strings, decoded
 * bodies and decoded arguments of ../shared/corpus, 27.4 -> 25.9 ms CPU per pass (node --import
 * tsx, a scratch script, 2026-12).
 */
function lookupWord(word: string): string {
  if (word.length < SHORTEST_KEYWORD || word.length > LONGEST_KEYWORD) return '';
  return SQLI_KEYWORDS.get(asciiUpper(word)) ?? '';
}

/** char_is_white: space, \t \n \v \f \r, NUL and latin-1 NBSP (0xA0). */
function isWhite(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d) || c === 0x00 || c === 0xa0;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** Byte set as a 256-entry table. NUL is always in it (C's strchr finds the terminator). */
function byteSet(chars: string): Uint8Array {
  const set = new Uint8Array(256);
  for (let i = 0; i < chars.length; i++) set[chars.charCodeAt(i)] = 1;
  set[0] = 1;
  return set;
}

const WORD_STOP = byteSet(' []{}<>:\\?=@!#~+-*/&|^%(),\';\t\n\v\f\r"\xa0');
const VAR_STOP = byteSet(" <>:\\?=@!#~+-*/&|^%(),';\t\n\v\f\r'`\"");
const BIN_DIGITS = byteSet('01');
const HEX_DIGITS = byteSet('0123456789ABCDEFabcdef');
const MONEY_DIGITS = byteSet('0123456789.,');
const ASCII_LETTERS = byteSet('abcdefghjiklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ');

/** strlenspn: length of the prefix of s[from, end) made of bytes in `set` (NUL always counts). */
function spanIn(s: string, from: number, end: number, set: Uint8Array): number {
  let i = from;
  while (i < end && set[s.charCodeAt(i)] === 1) i++;
  return i - from;
}

/** strlencspn: length of the prefix of s[from, end) made of bytes not in `set` (NUL always stops). */
function spanNotIn(s: string, from: number, end: number, set: Uint8Array): number {
  let i = from;
  while (i < end && set[s.charCodeAt(i)] !== 1) i++;
  return i - from;
}

const enum P {
  White,
  Operator1,
  Other,
  Char,
  Hash,
  Dash,
  Slash,
  Backslash,
  Operator2,
  String,
  Word,
  Var,
  Number,
  Tick,
  UString,
  QString,
  NQString,
  XString,
  BString,
  EString,
  BWord,
  Money,
}

/** char_parse_map of libinjection_sqli_data.h: which parser handles a token starting with that byte. */
const CHAR_PARSE_MAP: Uint8Array = (() => {
  const m = new Uint8Array(256).fill(P.Word);
  for (let c = 0; c <= 32; c++) m[c] = P.White;
  m[127] = P.White;
  m[160] = P.White;
  const set = (chars: string, p: P): void => {
    for (const ch of chars) m[ch.charCodeAt(0)] = p;
  };
  set('!&*:<=>|', P.Operator2);
  set('"\'', P.String);
  set('#', P.Hash);
  set('$', P.Money);
  set('%+^~', P.Operator1);
  set('(),;{}', P.Char);
  set('-', P.Dash);
  set('.0123456789', P.Number);
  set('/', P.Slash);
  set('?]', P.Other);
  set('@', P.Var);
  set('Bb', P.BString);
  set('Ee', P.EString);
  set('Nn', P.NQString);
  set('Qq', P.QString);
  set('Uu', P.UString);
  set('Xx', P.XString);
  set('[', P.BWord);
  set('\\', P.Backslash);
  set('`', P.Tick);
  return m;
})();

export class SqliState {
  s: string;
  slen: number;
  flags = 0;
  pos = 0;
  readonly tokenvec: SqliToken[] = Array.from({ length: MAX_TOKENS + 3 }, newToken);
  current: SqliToken;
  fingerprint = '';
  statsCommentDdx = 0;
  statsCommentHash = 0;
  statsFolds = 0;
  statsTokens = 0;
  /** fold()'s trailing comment, kept here so folding allocates nothing. */
  private readonly lastComment: SqliToken = newToken();

  constructor(s: string, flags = 0) {
    this.s = s;
    this.slen = s.length;
    this.current = this.tokenvec[0]!;
    this.reset(flags);
  }

  /** Start over on another input, reusing this state's token storage (see `sqliScratch`). */
  load(s: string, flags = 0): this {
    this.s = s;
    this.slen = s.length;
    this.reset(flags);
    return this;
  }

  reset(flags: number): void {
    this.flags = flags === 0 ? FLAG_QUOTE_NONE | FLAG_SQL_ANSI : flags;
    this.pos = 0;
    for (const t of this.tokenvec) clearToken(t);
    this.current = this.tokenvec[0]!;
    this.fingerprint = '';
    this.statsCommentDdx = 0;
    this.statsCommentHash = 0;
    this.statsFolds = 0;
    this.statsTokens = 0;
  }

  /** Byte at i, or 0 past the end (the C strings are NUL-terminated). */
  private at(i: number): number {
    return i < this.slen ? this.s.charCodeAt(i) : 0;
  }

  // ---------------------------------------------------------------- parsers

  private parseWhite(): number {
    return this.pos + 1;
  }

  private parseOperator1(): number {
    const pos = this.pos;
    assignChar(this.current, T.OPERATOR, pos, this.s[pos]!);
    return pos + 1;
  }

  private parseOther(): number {
    const pos = this.pos;
    assignChar(this.current, T.UNKNOWN, pos, this.s[pos]!);
    return pos + 1;
  }

  private parseChar(): number {
    const pos = this.pos;
    const ch = this.s[pos]!;
    assignChar(this.current, ch, pos, ch);
    return pos + 1;
  }

  private parseEolComment(): number {
    const { s, slen, pos } = this;
    const nl = s.indexOf('\n', pos);
    if (nl < 0) {
      assign(this.current, T.COMMENT, pos, slen - pos, s, pos);
      return slen;
    }
    assign(this.current, T.COMMENT, pos, nl - pos, s, pos);
    return nl + 1;
  }

  /** ANSI: `#` is an operator. MySQL: it starts an end-of-line comment. */
  private parseHash(): number {
    this.statsCommentHash += 1;
    if (this.flags & FLAG_SQL_MYSQL) {
      this.statsCommentHash += 1;
      return this.parseEolComment();
    }
    assignChar(this.current, T.OPERATOR, this.pos, '#');
    return this.pos + 1;
  }

  private parseDash(): number {
    const { s, slen, pos } = this;
    const next = this.at(pos + 1);
    if (pos + 2 < slen && next === 0x2d && isWhite(s.charCodeAt(pos + 2))) {
      return this.parseEolComment(); // --[white]: a comment everywhere
    } else if (pos + 2 === slen && next === 0x2d) {
      return this.parseEolComment(); // --[EOF]
    } else if (pos + 1 < slen && next === 0x2d && this.flags & FLAG_SQL_ANSI) {
      this.statsCommentDdx += 1; // --[not white]: ANSI comment, two unary minus in MySQL
      return this.parseEolComment();
    }
    assignChar(this.current, T.OPERATOR, pos, '-');
    return pos + 1;
  }

  private parseSlash(): number {
    const { s, slen, pos } = this;
    if (pos + 1 === slen || s.charCodeAt(pos + 1) !== 0x2a) return this.parseOperator1();
    const end = s.indexOf('*/', pos + 2);
    const clen = end < 0 ? slen - pos : end + 2 - pos;
    let ctype: string = T.COMMENT;
    // A nested "/*" (PostgreSQL nests comments) or a MySQL "/*!" conditional comment is unparsable.
    // Like the C code, the nested check only runs on a closed comment.
    if (end >= 0) {
      const nested = s.indexOf('/*', pos + 2);
      if (nested >= 0 && nested <= end - 1) ctype = T.EVIL;
    }
    if (ctype !== T.EVIL && pos + 2 < slen && s.charCodeAt(pos + 2) === 0x21) ctype = T.EVIL;
    assign(this.current, ctype, pos, clen, s, pos);
    return pos + clen;
  }

  private parseBackslash(): number {
    const { s, slen, pos } = this;
    if (pos + 1 < slen && s.charCodeAt(pos + 1) === 0x4e) {
      assign(this.current, T.NUMBER, pos, 2, s, pos); // MySQL's \N is NULL
      return pos + 2;
    }
    assignChar(this.current, T.BACKSLASH, pos, s[pos]!);
    return pos + 1;
  }

  private parseOperator2(): number {
    const { s, slen, pos } = this;
    if (pos + 1 >= slen) return this.parseOperator1();
    if (pos + 2 < slen && s[pos] === '<' && s[pos + 1] === '=' && s[pos + 2] === '>') {
      assign(this.current, T.OPERATOR, pos, 3, s, pos);
      return pos + 3;
    }
    const ch = lookupWord(s.substr(pos, 2));
    if (ch !== '') {
      assign(this.current, ch, pos, 2, s, pos);
      return pos + 2;
    }
    if (s[pos] === ':') {
      assign(this.current, T.COLON, pos, 1, s, pos);
      return pos + 1;
    }
    return this.parseOperator1();
  }

  /**
   * String body starting at pos+offset, ended by an unescaped `delim` (backslash-escaped or doubled
   * delimiters do not end it). offset 0 means the opening quote is only assumed (quote contexts).
   */
  private parseStringCore(pos: number, delim: string, offset: number): number {
    const { s, slen } = this;
    const st = this.current;
    const start = pos + offset;
    let q = s.indexOf(delim, start);
    st.strOpen = offset > 0 ? delim : '';
    for (;;) {
      if (q < 0) {
        assign(st, T.STRING, start, slen - start, s, start);
        st.strClose = '';
        return slen;
      }
      // Odd number of backslashes right before the quote: escaped.
      let b = q - 1;
      while (b >= start && s.charCodeAt(b) === 0x5c) b--;
      if ((q - 1 - b) & 1) {
        q = s.indexOf(delim, q + 1);
        continue;
      }
      if (q + 1 < slen && s[q + 1] === delim) {
        q = s.indexOf(delim, q + 2);
        continue;
      }
      assign(st, T.STRING, start, q - start, s, start);
      st.strClose = delim;
      return q + 1;
    }
  }

  private parseString(): number {
    return this.parseStringCore(this.pos, this.s[this.pos]!, 1);
  }

  /** N'...' (MySQL national charset) and E'...' (PostgreSQL escaped string). */
  private parseEString(): number {
    const { s, slen, pos } = this;
    if (pos + 2 >= slen || s[pos + 1] !== CHAR_SINGLE) return this.parseWord();
    return this.parseStringCore(pos, CHAR_SINGLE, 2);
  }

  /** U&'...' */
  private parseUString(): number {
    const { s, slen, pos } = this;
    if (pos + 2 < slen && s[pos + 1] === '&' && s[pos + 2] === CHAR_SINGLE) {
      this.pos += 2;
      const next = this.parseString();
      this.current.strOpen = 'u';
      if (this.current.strClose === CHAR_SINGLE) this.current.strClose = 'u';
      return next;
    }
    return this.parseWord();
  }

  /** Oracle q'<delim>...<delim>' strings. */
  private parseQStringCore(offset: number): number {
    const { s, slen } = this;
    const pos = this.pos + offset;
    if (pos >= slen || (s[pos] !== 'q' && s[pos] !== 'Q') || pos + 2 >= slen || s[pos + 1] !== CHAR_SINGLE) {
      return this.parseWord();
    }
    const c = s.charCodeAt(pos + 2);
    // (signed char) < 33: control bytes, space and every byte >= 0x80.
    if (c < 33 || c > 127) return this.parseWord();
    let close = s[pos + 2]!;
    if (close === '(') close = ')';
    else if (close === '[') close = ']';
    else if (close === '{') close = '}';
    else if (close === '<') close = '>';
    const end = s.indexOf(close + CHAR_SINGLE, pos + 3);
    const st = this.current;
    if (end < 0) {
      assign(st, T.STRING, pos + 3, slen - pos - 3, s, pos + 3);
      st.strOpen = 'q';
      st.strClose = '';
      return slen;
    }
    assign(st, T.STRING, pos + 3, end - pos - 3, s, pos + 3);
    st.strOpen = 'q';
    st.strClose = 'q';
    return end + 2;
  }

  private parseQString(): number {
    return this.parseQStringCore(0);
  }

  private parseNQString(): number {
    const { s, slen, pos } = this;
    if (pos + 2 < slen && s[pos + 1] === CHAR_SINGLE) return this.parseEString();
    return this.parseQStringCore(1);
  }

  /** b'0101' and x'CAFE' literals. */
  private parseBinHexString(digits: Uint8Array): number {
    const { s, slen, pos } = this;
    if (pos + 2 >= slen || s[pos + 1] !== CHAR_SINGLE) return this.parseWord();
    const wlen = spanIn(s, pos + 2, slen, digits);
    if (pos + 2 + wlen >= slen || s[pos + 2 + wlen] !== CHAR_SINGLE) return this.parseWord();
    assign(this.current, T.NUMBER, pos, wlen + 3, s, pos);
    return pos + 2 + wlen + 1;
  }

  /** SQL Server [bracketed names]. */
  private parseBWord(): number {
    const { s, slen, pos } = this;
    const end = s.indexOf(']', pos);
    if (end < 0) {
      assign(this.current, T.BAREWORD, pos, slen - pos, s, pos);
      return slen;
    }
    assign(this.current, T.BAREWORD, pos, end - pos + 1, s, pos);
    return end + 1;
  }

  private parseWord(): number {
    const { s, slen, pos } = this;
    const wlen = spanNotIn(s, pos, slen, WORD_STOP);
    const cur = this.current;
    assign(cur, T.BAREWORD, pos, wlen, s, pos);

    // "SELECT.1" or "SELECT`col`": if what precedes a '.' or '`' is a keyword, the token stops there.
    for (let i = 0; i < cur.len; i++) {
      const d = cur.val[i];
      if (d === '.' || d === '`') {
        const ch = lookupWord(cur.val.slice(0, i));
        if (ch !== T.NONE && ch !== T.BAREWORD) {
          clearToken(cur);
          assign(cur, ch, pos, i, s, pos);
          return pos + i;
        }
      }
    }
    if (wlen < TOKEN_SIZE) {
      const ch = lookupWord(cur.val);
      cur.type = ch === '' ? T.BAREWORD : ch;
    }
    return pos + wlen;
  }

  /** MySQL `backticks`: a bare word, or a function if the name is one. */
  private parseTick(): number {
    const next = this.parseStringCore(this.pos, CHAR_TICK, 1);
    const ch = lookupWord(this.current.val);
    this.current.type = ch === T.FUNCTION ? T.FUNCTION : T.BAREWORD;
    return next;
  }

  /** @var, @@var, @@`var`, @'var' */
  private parseVar(): number {
    const { s, slen } = this;
    let pos = this.pos + 1;
    if (pos < slen && s[pos] === '@') {
      pos += 1;
      this.current.count = 2;
    } else {
      this.current.count = 1;
    }
    if (pos < slen) {
      if (s[pos] === CHAR_TICK) {
        this.pos = pos;
        const next = this.parseTick();
        this.current.type = T.VARIABLE;
        return next;
      } else if (s[pos] === CHAR_SINGLE || s[pos] === CHAR_DOUBLE) {
        this.pos = pos;
        const next = this.parseString();
        this.current.type = T.VARIABLE;
        return next;
      }
    }
    const xlen = spanNotIn(s, pos, slen, VAR_STOP);
    assign(this.current, T.VARIABLE, pos, xlen, s, pos);
    return pos + xlen;
  }

  /** $1,000.00 money, $$...$$ and $tag$...$tag$ PostgreSQL strings, or a lone '$'. */
  private parseMoney(): number {
    const { s, slen, pos } = this;
    const st = this.current;
    if (pos + 1 === slen) {
      assignChar(st, T.BAREWORD, pos, '$');
      return slen;
    }
    let xlen = spanIn(s, pos + 1, slen, MONEY_DIGITS);
    if (xlen === 0) {
      if (s[pos + 1] === '$') {
        const end = s.indexOf('$$', pos + 2);
        if (end < 0) {
          assign(st, T.STRING, pos + 2, slen - (pos + 2), s, pos + 2);
          st.strOpen = '$';
          st.strClose = '';
          return slen;
        }
        assign(st, T.STRING, pos + 2, end - (pos + 2), s, pos + 2);
        st.strOpen = '$';
        st.strClose = '$';
        return end + 2;
      }
      xlen = spanIn(s, pos + 1, slen, ASCII_LETTERS);
      if (xlen === 0) {
        assignChar(st, T.BAREWORD, pos, '$');
        return pos + 1;
      }
      if (pos + xlen + 1 === slen || s[pos + xlen + 1] !== '$') {
        assignChar(st, T.BAREWORD, pos, '$');
        return pos + 1;
      }
      const tag = s.substr(pos, xlen + 2);
      const bodyStart = pos + xlen + 2;
      const end = s.indexOf(tag, bodyStart);
      if (end < 0) {
        assign(st, T.STRING, bodyStart, slen - bodyStart, s, bodyStart);
        st.strOpen = '$';
        st.strClose = '';
        return slen;
      }
      assign(st, T.STRING, bodyStart, end - bodyStart, s, bodyStart);
      st.strOpen = '$';
      st.strClose = '$';
      return end + xlen + 2;
    } else if (xlen === 1 && s[pos + 1] === '.') {
      return this.parseWord(); // "$." is a word
    }
    assign(st, T.NUMBER, pos, 1 + xlen, s, pos);
    return pos + 1 + xlen;
  }

  private parseNumber(): number {
    const { s, slen } = this;
    let pos = this.pos;
    const st = this.current;
    if (s[pos] === '0' && pos + 1 < slen) {
      const c1 = s[pos + 1];
      const digits = c1 === 'X' || c1 === 'x' ? HEX_DIGITS : c1 === 'B' || c1 === 'b' ? BIN_DIGITS : null;
      if (digits) {
        const xlen = spanIn(s, pos + 2, slen, digits);
        if (xlen === 0) {
          assign(st, T.BAREWORD, pos, 2, s, pos);
          return pos + 2;
        }
        assign(st, T.NUMBER, pos, 2 + xlen, s, pos);
        return pos + 2 + xlen;
      }
    }
    const start = pos;
    let haveE = false;
    let haveExp = false;
    while (pos < slen && isDigit(s.charCodeAt(pos))) pos++;
    if (pos < slen && s[pos] === '.') {
      pos++;
      while (pos < slen && isDigit(s.charCodeAt(pos))) pos++;
      if (pos - start === 1) {
        assignChar(st, T.DOT, start, '.');
        return pos;
      }
    }
    if (pos < slen && (s[pos] === 'E' || s[pos] === 'e')) {
      haveE = true;
      pos++;
      if (pos < slen && (s[pos] === '+' || s[pos] === '-')) pos++;
      while (pos < slen && isDigit(s.charCodeAt(pos))) {
        haveExp = true;
        pos++;
      }
    }
    // Oracle's float/double suffix: 1.2f, 1d
    if (pos < slen && (s[pos] === 'd' || s[pos] === 'D' || s[pos] === 'f' || s[pos] === 'F')) {
      if (pos + 1 === slen) {
        pos++;
      } else if (isWhite(s.charCodeAt(pos + 1)) || s[pos + 1] === ';') {
        pos++;
      } else if (s[pos + 1] === 'u' || s[pos + 1] === 'U') {
        pos++; // makes "1fUNION" parse as "1f UNION"
      }
    }
    // "1234.e", "10.10E", "1e": an exponent marker without digits makes a word, not a number
    const type = haveE && !haveExp ? T.BAREWORD : T.NUMBER;
    assign(st, type, start, pos - start, s, start);
    return pos;
  }

  private dispatch(p: number): number {
    switch (p as P) {
      case P.White:
        return this.parseWhite();
      case P.Operator1:
        return this.parseOperator1();
      case P.Other:
        return this.parseOther();
      case P.Char:
        return this.parseChar();
      case P.Hash:
        return this.parseHash();
      case P.Dash:
        return this.parseDash();
      case P.Slash:
        return this.parseSlash();
      case P.Backslash:
        return this.parseBackslash();
      case P.Operator2:
        return this.parseOperator2();
      case P.String:
        return this.parseString();
      case P.Word:
        return this.parseWord();
      case P.Var:
        return this.parseVar();
      case P.Number:
        return this.parseNumber();
      case P.Tick:
        return this.parseTick();
      case P.UString:
        return this.parseUString();
      case P.QString:
        return this.parseQString();
      case P.NQString:
        return this.parseNQString();
      case P.XString:
        return this.parseBinHexString(HEX_DIGITS);
      case P.BString:
        return this.parseBinHexString(BIN_DIGITS);
      case P.EString:
        return this.parseEString();
      case P.BWord:
        return this.parseBWord();
      case P.Money:
        return this.parseMoney();
    }
  }

  /** Reads the next token into `this.current`. False at end of input. */
  tokenize(): boolean {
    const { s, slen } = this;
    if (slen === 0) return false;
    const current = this.current;
    clearToken(current);
    // In a quote context the input is assumed to start inside a string.
    if (this.pos === 0 && this.flags & (FLAG_QUOTE_SINGLE | FLAG_QUOTE_DOUBLE)) {
      const delim = this.flags & FLAG_QUOTE_SINGLE ? CHAR_SINGLE : CHAR_DOUBLE;
      this.pos = this.parseStringCore(0, delim, 0);
      this.statsTokens += 1;
      return true;
    }
    while (this.pos < slen) {
      this.pos = this.dispatch(CHAR_PARSE_MAP[s.charCodeAt(this.pos) & 0xff]!);
      if (current.type !== T.NONE) {
        this.statsTokens += 1;
        return true;
      }
    }
    return false;
  }

  // ---------------------------------------------------------------- folding

  /** "UNION" + "ALL" -> "UNION ALL" when the phrase is in the keyword table. */
  private mergeWords(a: SqliToken, b: SqliToken): boolean {
    const ta = a.type;
    if (
      ta !== T.KEYWORD &&
      ta !== T.BAREWORD &&
      ta !== T.OPERATOR &&
      ta !== T.UNION &&
      ta !== T.FUNCTION &&
      ta !== T.EXPRESSION &&
      ta !== T.TSQL &&
      ta !== T.SQLTYPE
    ) {
      return false;
    }
    const tb = b.type;
    if (
      tb !== T.KEYWORD &&
      tb !== T.BAREWORD &&
      tb !== T.OPERATOR &&
      tb !== T.SQLTYPE &&
      tb !== T.LOGIC_OPERATOR &&
      tb !== T.FUNCTION &&
      tb !== T.UNION &&
      tb !== T.EXPRESSION &&
      tb !== T.TSQL
    ) {
      return false;
    }
    const sz3 = a.len + b.len + 1;
    if (sz3 >= TOKEN_SIZE) return false;
    const tmp = a.val + ' ' + b.val;
    const ch = lookupWord(tmp);
    if (ch === '') return false;
    assign(a, ch, a.pos, sz3, tmp, 0);
    return true;
  }

  /** Tokenizes and folds; returns the number of tokens left in tokenvec (at most 5). */
  fold(): number {
    const tv = this.tokenvec;
    const lastComment = this.lastComment;
    clearToken(lastComment);
    let pos = 0;
    let left = 0;
    let more = true;

    // Skip leading comments, '(' , SQL types and unary operators.
    this.current = tv[0]!;
    while (more) {
      more = this.tokenize();
      const c = this.current;
      if (!(c.type === T.COMMENT || c.type === T.LEFTPARENS || c.type === T.SQLTYPE || isUnaryOp(c))) break;
    }
    if (!more) return 0;
    pos += 1;

    for (;;) {
      // Special cases once five tokens are in: keep folding "1,(1)" style lists.
      if (pos >= MAX_TOKENS) {
        const t0 = tv[0]!.type;
        const t1 = tv[1]!.type;
        const t2 = tv[2]!.type;
        const t3 = tv[3]!.type;
        const t4 = tv[4]!.type;
        if (
          (t0 === T.NUMBER &&
            (t1 === T.OPERATOR || t1 === T.COMMA) &&
            t2 === T.LEFTPARENS &&
            t3 === T.NUMBER &&
            t4 === T.RIGHTPARENS) ||
          (t0 === T.BAREWORD &&
            t1 === T.OPERATOR &&
            t2 === T.LEFTPARENS &&
            (t3 === T.BAREWORD || t3 === T.NUMBER) &&
            t4 === T.RIGHTPARENS) ||
          (t0 === T.NUMBER &&
            t1 === T.RIGHTPARENS &&
            t2 === T.COMMA &&
            t3 === T.LEFTPARENS &&
            t4 === T.NUMBER) ||
          (t0 === T.BAREWORD &&
            t1 === T.RIGHTPARENS &&
            t2 === T.OPERATOR &&
            t3 === T.LEFTPARENS &&
            t4 === T.BAREWORD)
        ) {
          if (pos > MAX_TOKENS) {
            copyToken(tv[1]!, tv[MAX_TOKENS]!);
            pos = 2;
            left = 0;
          } else {
            pos = 1;
            left = 0;
          }
        }
      }

      if (!more || left >= MAX_TOKENS) {
        left = pos;
        break;
      }

      // Get up to two tokens.
      while (more && pos <= MAX_TOKENS && pos - left < 2) {
        this.current = tv[pos]!;
        more = this.tokenize();
        if (more) {
          if (this.current.type === T.COMMENT) {
            copyToken(lastComment, this.current);
          } else {
            lastComment.type = T.NONE;
            pos += 1;
          }
        }
      }
      if (pos - left < 2) {
        left = pos;
        continue;
      }

      const a = tv[left]!;
      const b = tv[left + 1]!;
      if (a.type === T.STRING && b.type === T.STRING) {
        pos -= 1; // "foo" "bar" is valid SQL: drop the second string
        this.statsFolds += 1;
        continue;
      } else if (a.type === T.SEMICOLON && b.type === T.SEMICOLON) {
        pos -= 1;
        this.statsFolds += 1;
        continue;
      } else if (
        (a.type === T.OPERATOR || a.type === T.LOGIC_OPERATOR) &&
        (isUnaryOp(b) || b.type === T.SQLTYPE)
      ) {
        pos -= 1;
        this.statsFolds += 1;
        left = 0;
        continue;
      } else if (a.type === T.LEFTPARENS && isUnaryOp(b)) {
        pos -= 1;
        this.statsFolds += 1;
        if (left > 0) left -= 1;
        continue;
      } else if (this.mergeWords(a, b)) {
        pos -= 1;
        this.statsFolds += 1;
        if (left > 0) left -= 1;
        continue;
      } else if (a.type === T.SEMICOLON && b.type === T.FUNCTION && startsWithIf(b.val)) {
        b.type = T.TSQL; // T-SQL "; IF 1=1 ..." control flow (3.9.2 tests only the first two letters)
        continue;
      } else if (
        (a.type === T.BAREWORD || a.type === T.VARIABLE) &&
        b.type === T.LEFTPARENS &&
        FUNCTION_LIKE_WORDS.has(asciiUpper(a.val))
      ) {
        a.type = T.FUNCTION; // common column names that are also functions, when followed by '('
        continue;
      } else if (a.type === T.KEYWORD && (ieq('IN', a.val) || ieq('NOT IN', a.val))) {
        a.type = b.type === T.LEFTPARENS ? T.OPERATOR : T.BAREWORD;
        continue;
      } else if (a.type === T.OPERATOR && (ieq('LIKE', a.val) || ieq('NOT LIKE', a.val))) {
        if (b.type === T.LEFTPARENS) a.type = T.FUNCTION;
      } else if (
        a.type === T.SQLTYPE &&
        (b.type === T.BAREWORD ||
          b.type === T.NUMBER ||
          b.type === T.SQLTYPE ||
          b.type === T.LEFTPARENS ||
          b.type === T.FUNCTION ||
          b.type === T.VARIABLE ||
          b.type === T.STRING)
      ) {
        copyToken(a, b);
        pos -= 1;
        this.statsFolds += 1;
        left = 0;
        continue;
      } else if (a.type === T.COLLATE && b.type === T.BAREWORD) {
        if (cstr(b.val).includes('_')) {
          b.type = T.SQLTYPE;
          left = 0;
        }
      } else if (a.type === T.BACKSLASH) {
        if (isArithmeticOp(b)) {
          a.type = T.NUMBER; // T-SQL parses '\%1' as '0 % 1'
        } else {
          copyToken(a, b);
          pos -= 1;
          this.statsFolds += 1;
        }
        left = 0;
        continue;
      } else if (a.type === T.LEFTPARENS && b.type === T.LEFTPARENS) {
        pos -= 1;
        left = 0;
        this.statsFolds += 1;
        continue;
      } else if (a.type === T.RIGHTPARENS && b.type === T.RIGHTPARENS) {
        pos -= 1;
        left = 0;
        this.statsFolds += 1;
        continue;
      } else if (a.type === T.LEFTBRACE && b.type === T.BAREWORD) {
        // MySQL "{ ``.``.id }" is too odd to parse: treat "{ ``" as unparsable.
        if (b.len === 0) {
          b.type = T.EVIL;
          return left + 2;
        }
        // ODBC "{foo expr}" -> expr
        left = 0;
        pos -= 2;
        this.statsFolds += 2;
        continue;
      } else if (b.type === T.RIGHTBRACE) {
        pos -= 1;
        left = 0;
        this.statsFolds += 1;
        continue;
      }

      // No two-token fold: get a third token.
      while (more && pos <= MAX_TOKENS && pos - left < 3) {
        this.current = tv[pos]!;
        more = this.tokenize();
        if (more) {
          if (this.current.type === T.COMMENT) {
            copyToken(lastComment, this.current);
          } else {
            lastComment.type = T.NONE;
            pos += 1;
          }
        }
      }
      if (pos - left < 3) {
        left = pos;
        continue;
      }

      const c = tv[left + 2]!;
      const ta = a.type;
      const tb = b.type;
      const tc = c.type;
      if (ta === T.NUMBER && tb === T.OPERATOR && tc === T.NUMBER) {
        pos -= 2;
        left = 0;
        continue;
      } else if (ta === T.OPERATOR && tb !== T.LEFTPARENS && tc === T.OPERATOR) {
        left = 0;
        pos -= 2;
        continue;
      } else if (ta === T.LOGIC_OPERATOR && tc === T.LOGIC_OPERATOR) {
        pos -= 2;
        left = 0;
        continue;
      } else if (
        ta === T.VARIABLE &&
        tb === T.OPERATOR &&
        (tc === T.VARIABLE || tc === T.NUMBER || tc === T.BAREWORD)
      ) {
        pos -= 2;
        left = 0;
        continue;
      } else if (
        (ta === T.BAREWORD || ta === T.NUMBER) &&
        tb === T.OPERATOR &&
        (tc === T.NUMBER || tc === T.BAREWORD)
      ) {
        pos -= 2;
        left = 0;
        continue;
      } else if (
        (ta === T.BAREWORD || ta === T.NUMBER || ta === T.VARIABLE || ta === T.STRING) &&
        tb === T.OPERATOR &&
        cstr(b.val) === '::' &&
        tc === T.SQLTYPE
      ) {
        pos -= 2;
        left = 0;
        this.statsFolds += 2;
        continue;
      } else if (
        (ta === T.BAREWORD || ta === T.NUMBER || ta === T.STRING || ta === T.VARIABLE) &&
        tb === T.COMMA &&
        (tc === T.NUMBER || tc === T.BAREWORD || tc === T.STRING || tc === T.VARIABLE)
      ) {
        pos -= 2;
        left = 0;
        continue;
      } else if (
        (ta === T.EXPRESSION || ta === T.GROUP || ta === T.COMMA) &&
        isUnaryOp(b) &&
        tc === T.LEFTPARENS
      ) {
        copyToken(b, c); // "SELECT + (" -> "SELECT ("
        pos -= 1;
        left = 0;
        continue;
      } else if (
        (ta === T.KEYWORD || ta === T.EXPRESSION || ta === T.GROUP) &&
        isUnaryOp(b) &&
        (tc === T.NUMBER || tc === T.BAREWORD || tc === T.VARIABLE || tc === T.STRING || tc === T.FUNCTION)
      ) {
        copyToken(b, c); // "SELECT - 1" -> "SELECT 1"
        pos -= 1;
        left = 0;
        continue;
      } else if (
        ta === T.COMMA &&
        isUnaryOp(b) &&
        (tc === T.NUMBER || tc === T.BAREWORD || tc === T.VARIABLE || tc === T.STRING)
      ) {
        copyToken(b, c); // "1,-1" -> "1"
        left = 0;
        pos -= 3;
        continue;
      } else if (ta === T.COMMA && isUnaryOp(b) && tc === T.FUNCTION) {
        copyToken(b, c); // "1,-sin(1)" -> "1,sin(1)"
        pos -= 1;
        left = 0;
        continue;
      } else if (ta === T.BAREWORD && tb === T.DOT && tc === T.BAREWORD) {
        pos -= 2; // database.table
        left = 0;
        continue;
      } else if (ta === T.EXPRESSION && tb === T.DOT && tc === T.BAREWORD) {
        copyToken(b, c); // "select . `foo`" -> "select `foo`"
        pos -= 1;
        left = 0;
        continue;
      } else if (ta === T.FUNCTION && tb === T.LEFTPARENS && tc !== T.RIGHTPARENS) {
        // USER() takes no arguments: "user(foo)" is not the function.
        if (ieq('USER', a.val)) a.type = T.BAREWORD;
      }

      left += 1;
    }

    // Fewer than five tokens and a trailing comment: put the comment back.
    if (left < MAX_TOKENS && lastComment.type === T.COMMENT) {
      copyToken(tv[left]!, lastComment);
      left += 1;
    }
    if (left > MAX_TOKENS) left = MAX_TOKENS;
    return left;
  }

  /** Folds the input under `flags` and sets `this.fingerprint` (token types, at most 5 chars). */
  computeFingerprint(flags: number): string {
    this.reset(flags);
    const tlen = this.fold();
    const tv = this.tokenvec;
    // PHP's unclosed empty backtick at the end acts as a comment.
    const last = tv[tlen - 1];
    if (tlen > 2 && last && last.type === T.BAREWORD && last.strOpen === CHAR_TICK && last.len === 0) {
      if (last.strClose === '') last.type = T.COMMENT;
    }
    let fp = '';
    for (let i = 0; i < tlen; i++) fp += tv[i]!.type;
    if (fp.includes(T.EVIL)) {
      fp = T.EVIL;
      const t0 = tv[0]!;
      t0.type = T.EVIL;
      t0.val = T.EVIL;
      t0.len = 1;
      tv[1]!.type = T.NONE;
    }
    this.fingerprint = fp;
    return fp;
  }

  /** Is the current fingerprint in libinjection's list? */
  blacklisted(): boolean {
    return this.fingerprint.length > 0 && SQLI_FINGERPRINTS.has(asciiUpper(this.fingerprint));
  }

  /** libinjection's false-positive filter: false when a listed fingerprint is probably benign. */
  notWhitelisted(): boolean {
    const fp = this.fingerprint;
    const tlen = fp.length;
    const tv = this.tokenvec;
    const t0 = tv[0]!;
    const t1 = tv[1]!;
    if (tlen > 1 && fp[tlen - 1] === T.COMMENT) {
      // SQL Server keeps statements mentioning sp_password out of its audit log.
      if (this.s.includes('sp_password')) return true;
    }
    switch (tlen) {
      case 2: {
        if (fp[1] === T.UNION) {
          // "1 union" alone is too common; only flag it when folding or comments were involved.
          return this.statsTokens !== 2;
        }
        if (t1.val[0] === '#') return false; // '#' comments: too many false positives
        if (t0.type === T.BAREWORD && t1.type === T.COMMENT && t1.val[0] !== '/') return false;
        if (t0.type === T.NUMBER && t1.type === T.COMMENT && t1.val[0] === '/') return true;
        if (t0.type === T.NUMBER && t1.type === T.COMMENT) {
          if (this.statsTokens > 2) return true;
          // The original input must have whitespace, "/*" or "--" right after the number.
          const ch = this.at(t0.len);
          if (ch <= 32 || ch >= 0x80) return true; // a signed C char: bytes >= 0x80 are negative
          if (ch === 0x2f && this.at(t0.len + 1) === 0x2a) return true;
          if (ch === 0x2d && this.at(t0.len + 1) === 0x2d) return true;
          return false;
        }
        // "foo -- bar" is common prose; only a trailing "--" counts.
        if (t1.len > 2 && t1.val[0] === '-') return false;
        break;
      }
      case 3: {
        if (fp === 'sos' || fp === 's&s') {
          // ...foo" + "bar...: no opening quote, no closing quote, same quote inside
          return t0.strOpen === '' && tv[2]!.strClose === '' && t0.strClose === tv[2]!.strOpen;
        } else if (fp === 's&n' || fp === 'n&1' || fp === '1&1' || fp === '1&v' || fp === '1&s') {
          // 'sexy and 17' is not SQLi, 'sexy and 17<18' is
          if (this.statsTokens === 3) return false;
        } else if (t1.type === T.KEYWORD) {
          // Only "INTO OUTFILE" / "INTO DUMPFILE" style keywords count.
          if (t1.len < 5 || asciiUpper(t1.val.slice(0, 4)) !== 'INTO') return false;
        }
        break;
      }
    }
    return true;
  }

  checkFingerprint(): boolean {
    return this.blacklisted() && this.notWhitelisted();
  }

  /** A `--x` or `#` comment was seen: the input is tried again in MySQL comment mode. */
  private reparseAsMysql(): boolean {
    return this.statsCommentDdx > 0 || this.statsCommentHash > 0;
  }

  /** libinjection_is_sqli: tries the quote contexts and comment modes in libinjection's order. */
  isSqli(): boolean {
    const s = this.s;
    if (this.slen === 0) return false;

    this.computeFingerprint(FLAG_QUOTE_NONE | FLAG_SQL_ANSI);
    if (this.checkFingerprint()) return true;
    if (this.reparseAsMysql()) {
      this.computeFingerprint(FLAG_QUOTE_NONE | FLAG_SQL_MYSQL);
      if (this.checkFingerprint()) return true;
    }
    if (s.includes(CHAR_SINGLE)) {
      this.computeFingerprint(FLAG_QUOTE_SINGLE | FLAG_SQL_ANSI);
      if (this.checkFingerprint()) return true;
      if (this.reparseAsMysql()) {
        this.computeFingerprint(FLAG_QUOTE_SINGLE | FLAG_SQL_MYSQL);
        if (this.checkFingerprint()) return true;
      }
    }
    if (s.includes(CHAR_DOUBLE)) {
      this.computeFingerprint(FLAG_QUOTE_DOUBLE | FLAG_SQL_MYSQL);
      if (this.checkFingerprint()) return true;
    }
    return false;
  }

  /** Values of the tokens behind the current fingerprint. */
  tokenValues(): string[] {
    const out: string[] = [];
    for (let i = 0; i < this.fingerprint.length; i++) out.push(this.tokenvec[i]!.val);
    return out;
  }
}

/** T-SQL / MySQL functions that are common column names: functions only when followed by '('. */
const FUNCTION_LIKE_WORDS: ReadonlySet<string> = new Set([
  'USER_ID',
  'USER_NAME',
  'DATABASE',
  'PASSWORD',
  'USER',
  'CURRENT_USER',
  'CURRENT_DATE',
  'CURRENT_TIME',
  'CURRENT_TIMESTAMP',
  'LOCALTIME',
  'LOCALTIMESTAMP',
]);

/** A token value as C sees it: up to the first NUL. */
function cstr(v: string): string {
  const i = v.indexOf('\0');
  return i < 0 ? v : v.slice(0, i);
}

function startsWithIf(v: string): boolean {
  return (v[0] === 'I' || v[0] === 'i') && (v[1] === 'F' || v[1] === 'f');
}

function isUnaryOp(t: SqliToken): boolean {
  if (t.type !== T.OPERATOR) return false;
  switch (t.len) {
    case 1:
      return t.val === '+' || t.val === '-' || t.val === '!' || t.val === '~';
    case 2:
      return t.val === '!!';
    case 3:
      return ieq('NOT', t.val);
    default:
      return false;
  }
}

function isArithmeticOp(t: SqliToken): boolean {
  return (
    t.type === T.OPERATOR &&
    t.len === 1 &&
    (t.val === '*' || t.val === '/' || t.val === '-' || t.val === '+' || t.val === '%')
  );
}

/**
 * One state per process, reloaded for each input: detection is synchronous and never re-entered, and
 * allocating a fresh state (eight tokens) per value was 5% of bench:engine's CPU (node --cpu-prof
 * --import tsx, the engine loop alone, 2026-12). The returned state is valid until the next call.
 */
const scratch = new SqliState('');
export function sqliScratch(s: string): SqliState {
  return scratch.load(s);
}
