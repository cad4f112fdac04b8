// SQL helpers shared by mixed-case, sql-comment and sql-whitespace: which text is SQL, its keywords, and
// where a separator between two tokens may change without changing the statement.

import type { Edit } from './encoding.js';

/** Words that make a value look like injected SQL (one is enough). */
const STRONG =
  /\b(?:select|union|insert|update|delete|drop|sleep|benchmark|waitfor|updatexml|extractvalue|concat|group_concat|load_file|information_schema|pg_sleep|from|where|order\s+by)\b/i;

export function looksLikeSql(decoded: string): boolean {
  return STRONG.test(decoded);
}

/** SQL keywords: case-insensitive in every SQL dialect. */
const SQL_KEYWORDS = [
  'select', 'union', 'all', 'distinct', 'from', 'where', 'and', 'or', 'not', 'null', 'is', 'like', 'in',
  'order', 'group', 'by', 'having', 'limit', 'offset', 'insert', 'into', 'values', 'update', 'set',
  'delete', 'drop', 'table', 'exec', 'execute', 'case', 'when', 'then', 'else', 'end', 'as', 'join',
  'waitfor', 'delay', 'exists',
]; // prettier-ignore

/**
 * Built-in functions: case-insensitive too, but only flipped before their `(`, since several double as
 * identifiers (`user`, `version`, `char`), and a table name is case-sensitive in MySQL on Linux.
 */
const SQL_FUNCTIONS = [
  'sleep', 'benchmark', 'concat', 'concat_ws', 'group_concat', 'updatexml', 'extractvalue', 'md5',
  'char', 'chr', 'ascii', 'substring', 'substr', 'mid', 'cast', 'convert', 'version', 'database', 'user',
  'load_file', 'if', 'pg_sleep', 'count', 'hex', 'unhex', 'lower', 'upper', 'length',
]; // prettier-ignore

// eslint-disable-next-line security/detect-non-literal-regexp -- alternation of the constant keyword lists above
export const SQL_KEYWORD_RE = new RegExp(
  `\\b(?:${SQL_KEYWORDS.join('|')})\\b|\\b(?:${SQL_FUNCTIONS.join('|')})(?=\\s*\\()`,
  'gi',
);

/** Keywords after which a `(` opens a sub-expression, not a function call, so a separator may go between. */
const PAREN_KEYWORDS = new Set([
  'select', 'union', 'all', 'distinct', 'from', 'where', 'and', 'or', 'not', 'in', 'by', 'having',
  'into', 'values', 'as', 'on', 'when', 'then', 'else', 'exists', 'like', 'is',
]); // prettier-ignore

/**
 * Spans of string literals (`'...'`, `"..."`, `` `...` ``; doubled quotes and backslashes escape), end
 * exclusive. An injection usually starts by closing the application's string: when a quote character
 * occurs an odd number of times, its first occurrence is that breakout, not the start of a literal.
 */
function literalSpans(s: string): [number, number][] {
  const skip = new Set<number>();
  for (const q of ["'", '"', '`']) {
    const at: number[] = [];
    for (let i = 0; i < s.length; i++) if (s[i] === q && s[i - 1] !== '\\') at.push(i);
    if (at.length % 2 === 1) skip.add(at[0]!);
  }
  const spans: [number, number][] = [];
  let i = 0;
  while (i < s.length) {
    const q = s[i]!;
    if ((q === "'" || q === '"' || q === '`') && !skip.has(i)) {
      let j = i + 1;
      for (; j < s.length; j++) {
        if (s[j] === '\\') j++;
        else if (s[j] === q) {
          if (s[j + 1] === q) j++;
          else break;
        }
      }
      spans.push([i, Math.min(j + 1, s.length)]);
      i = j + 1;
    } else i++;
  }
  return spans;
}

const isSpaceOrControl = (c: string | undefined) => c === undefined || c.charCodeAt(0) <= 0x20;

/** Start of a `#` or `-- ` line comment: everything after it is comment text, left alone. */
function commentStart(s: string, inLiteral: (i: number) => boolean): number {
  for (let i = 0; i < s.length; i++) {
    if (inLiteral(i)) continue;
    if (s[i] === '#') return i;
    if (s[i] === '-' && s[i + 1] === '-' && isSpaceOrControl(s[i + 2])) return i;
  }
  return s.length;
}

/**
 * Where the separator between two SQL tokens can be replaced: runs of whitespace outside string literals
 * and comments (kind 'space'), and the empty gap between a keyword and `(`, between `)` and a word, and
 * after a `,` (kind 'gap'). The space right after `--` is part of the comment marker and never offered.
 */
export function sqlSeparators(decoded: string): { start: number; end: number; kind: 'space' | 'gap' }[] {
  const mask = new Uint8Array(decoded.length);
  for (const [a, b] of literalSpans(decoded)) mask.fill(1, a, b);
  const inLiteral = (i: number) => mask[i] === 1;
  const stop = commentStart(decoded, inLiteral);
  const out: { start: number; end: number; kind: 'space' | 'gap' }[] = [];
  for (let i = 0; i < stop;) {
    if (inLiteral(i)) {
      i++;
      continue;
    }
    if (/\s/.test(decoded[i]!)) {
      let j = i;
      while (j < stop && /\s/.test(decoded[j]!) && !inLiteral(j)) j++;
      out.push({ start: i, end: j, kind: 'space' });
      i = j;
      continue;
    }
    const next = decoded[i + 1];
    if (next !== undefined && i + 1 < stop && !inLiteral(i + 1)) {
      if (decoded[i] === ',' && !/\s/.test(next)) out.push({ start: i + 1, end: i + 1, kind: 'gap' });
      else if (decoded[i] === ')' && /[A-Za-z_]/.test(next))
        out.push({ start: i + 1, end: i + 1, kind: 'gap' });
      else if (next === '(' && /[A-Za-z]/.test(decoded[i]!)) {
        let w = i;
        while (w > 0 && /[A-Za-z_]/.test(decoded[w - 1]!)) w--;
        const word = decoded.slice(w, i + 1).toLowerCase();
        if (PAREN_KEYWORDS.has(word)) out.push({ start: i + 1, end: i + 1, kind: 'gap' });
      }
    }
    i++;
  }
  return out;
}

/** Edits replacing every SQL separator with `sep` (decoded text), or undefined when not SQL. */
export function sqlSeparatorEdits(decoded: string, sep: string, raw = false): Edit[] {
  if (!looksLikeSql(decoded)) return [];
  return sqlSeparators(decoded).map((s) => ({ start: s.start, end: s.end, text: sep, raw }));
}
