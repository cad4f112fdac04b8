// SensitivityLevel HIGH: extra signatures on top of libinjection's verdict (LOW).
//
// AWS documents HIGH only as "detects more attacks, but generates more false positives". This is our
// choice of what "more" means; each signature is checked only when LOW did not match, and each is
// measured against the payload lists and the benign corpus by bench/detect.ts.
//
// | id | signature | catches | false positives it can add |
// | --- | --- | --- | --- |
// | H1 | Numeric context. libinjection assumes the input may start inside a '...' or "..." string; HIGH also assumes it follows a number (`id=5<input>`): the input is fingerprinted as `1 <input>` (ANSI, then MySQL comments) and checked against the same list and false-positive filter. Only counted when the fingerprint has at least 3 tokens and the input has one of `= < > ( ) ' " ; #`, `--` or `/*`. | `OR 1=1`, ` AND 1=0--`, ` HAVING 1=1#`, `ORDER BY SLEEP(5)`, `AND (SELECT ...)` | prose starting with a keyword and holding punctuation, e.g. `order by (price)` |
// | H2 | Quote tautologies that the false-positive filter drops. Fingerprints `sos`, `s&s` (string operator string) and `sc` (string then comment) are listed by libinjection but dropped by its filter when they are exactly 3 tokens long or end in a `#` comment; HIGH keeps them. | `' or '' '`, `" or "" "`, `admin' #`, `admin" #` | text with two quotes and an operator between them, e.g. `'a' - 'b'`, or a quote followed by `#` |
//
// The reported fingerprint is the one that matched: for H1 it includes the assumed leading `1`, and
// `tokens` leaves that token out.

import type { SqliResult } from '../types.js';
import {
  FLAG_QUOTE_DOUBLE,
  FLAG_QUOTE_NONE,
  FLAG_QUOTE_SINGLE,
  FLAG_SQL_ANSI,
  FLAG_SQL_MYSQL,
  sqliScratch,
  type SqliState,
} from './sqli.js';

const NUMERIC_PREFIX = '1 ';

/** Characters that make a keyword-led input look like SQL rather than prose (H1). */
const SQL_PUNCTUATION = /[=<>()'";#]|--|\/\*/;

function tryFlags(st: SqliState, flags: number): boolean {
  st.computeFingerprint(flags);
  return st.fingerprint.length >= 3 && st.checkFingerprint();
}

/** H1: the input as if it followed a number. */
function numericContext(s: string): SqliResult | undefined {
  if (!SQL_PUNCTUATION.test(s)) return undefined;
  const st = sqliScratch(NUMERIC_PREFIX + s);
  let hit = tryFlags(st, FLAG_QUOTE_NONE | FLAG_SQL_ANSI);
  if (!hit && (st.statsCommentDdx > 0 || st.statsCommentHash > 0))
    hit = tryFlags(st, FLAG_QUOTE_NONE | FLAG_SQL_MYSQL);
  if (!hit) return undefined;
  const tokens: string[] = [];
  for (let i = 0; i < st.fingerprint.length; i++) {
    const t = st.tokenvec[i]!;
    if (t.pos >= NUMERIC_PREFIX.length) tokens.push(t.val);
  }
  return { matched: true, fingerprint: st.fingerprint, tokens };
}

const H2_FINGERPRINTS: ReadonlySet<string> = new Set(['sos', 's&s', 'sc']);

/** H2: listed quote tautologies that libinjection's false-positive filter drops. */
function quoteTautology(s: string): SqliResult | undefined {
  if (!s.includes("'") && !s.includes('"')) return undefined;
  const st = sqliScratch(s);
  const contexts = [
    FLAG_QUOTE_NONE | FLAG_SQL_ANSI,
    FLAG_QUOTE_NONE | FLAG_SQL_MYSQL,
    FLAG_QUOTE_SINGLE | FLAG_SQL_ANSI,
    FLAG_QUOTE_SINGLE | FLAG_SQL_MYSQL,
    FLAG_QUOTE_DOUBLE | FLAG_SQL_MYSQL,
  ];
  for (const flags of contexts) {
    st.computeFingerprint(flags);
    if (H2_FINGERPRINTS.has(st.fingerprint) && st.blacklisted()) {
      return { matched: true, fingerprint: st.fingerprint, tokens: st.tokenValues() };
    }
  }
  return undefined;
}

/** HIGH-only checks, run when libinjection (LOW) did not match `s`. */
export function highSqli(s: string): SqliResult {
  if (s.length === 0) return { matched: false };
  return numericContext(s) ?? quoteTautology(s) ?? { matched: false };
}
