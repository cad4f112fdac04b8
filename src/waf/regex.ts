// Regular expressions in WAFv2 rules: what AWS accepts (a PCRE subset), what RE2 accepts (the
// linear-time engine wafgen evaluates with, so no rule can hang it), and compilation over byte
// strings (see ../core/bytes.ts) so `.` matches one byte, as in AWS.
import { LRUCache } from 'lru-cache';
import { RE2JS } from 're2js';

import { utf8ToByteString } from '../core/bytes.js';

export interface RegexProblem {
  severity: 'error' | 'warning';
  message: string;
}

// Constructs the AWS WAF Developer Guide lists as unsupported in regex statements and pattern sets.
// `raw` checks look at escapes; the others run on the pattern with escapes and classes blanked out,
// so `[*+]` or `\(` are not mistaken for operators.
const AWS_UNSUPPORTED: { re: RegExp; what: string; raw?: boolean }[] = [
  { re: /\\[1-9]|\\g\{?-?\d|\\k[<{']/, what: 'backreferences', raw: true },
  { re: /\\[CRK]/, what: '\\C, \\R or \\K', raw: true },
  { re: /\(\?R\)|\(\?[+-]?\d+\)|\(\?&\w+\)|\(\?P>/, what: 'recursion or subroutine references' },
  { re: /\(\?\(/, what: 'conditional patterns' },
  { re: /\(\*[A-Z]/, what: 'backtracking control verbs' },
  { re: /\(\?>/, what: 'atomic groups' },
  { re: /(?:[*+?}])\+/, what: 'possessive quantifiers' },
  { re: /\(\?C/, what: 'callouts' },
  { re: /\(\?<?[=!]/, what: 'lookaround assertions (not supported by RE2)' },
];

/** Strip escaped characters and character classes so structural checks see only operators. */
function structural(pattern: string): string {
  return pattern.replace(/\\./g, 'e').replace(/\[(?:\\.|[^\]\\])*\]/g, 'c');
}

/**
 * AWS and RE2 problems with a pattern. Memoised per process (see `boundedCache`): the lint runs on
 * every candidate rule of a generation, and its RE2 compile was the costly part.
 */
export function analyzeRegex(pattern: string): RegexProblem[] {
  let problems = analyses.get(pattern);
  if (problems === undefined) {
    problems = Object.freeze(analyze(pattern).map((p) => Object.freeze(p)));
    analyses.set(pattern, problems);
  }
  return [...problems];
}

function analyze(pattern: string): RegexProblem[] {
  const problems: RegexProblem[] = [];
  const ops = structural(pattern);
  for (const { re, what, raw } of AWS_UNSUPPORTED) {
    if (re.test(raw ? pattern : ops))
      problems.push({ severity: 'error', message: `uses ${what}, which AWS WAF rejects` });
  }
  const re = compiled(pattern);
  if (typeof re === 'string' && problems.length === 0)
    problems.push({ severity: 'error', message: `RE2 rejects it: ${re}` });
  if (/\((?!\?)/.test(ops)) {
    problems.push({
      severity: 'warning',
      message: 'uses a capturing group; AWS documents capturing subexpressions as unsupported',
    });
  }
  const big = /\{(\d+)(?:,(\d*))?\}/g;
  for (const m of ops.matchAll(big)) {
    const n = Math.max(Number(m[1]), Number(m[2] || 0));
    if (n > 100)
      problems.push({
        severity: 'warning',
        message: `repetition count {${m[1]}${m[2] !== undefined ? ',' + m[2] : ''}} is large; AWS rejects large repetition counts`,
      });
  }
  if (/\([^()]*[*+][^()]*\)[*+{]/.test(ops)) {
    problems.push({
      severity: 'warning',
      message: 'nested repetition; AWS rejects excessive nested repetition',
    });
  }
  return problems;
}

export class RegexCompileError extends Error {}

/**
 * Compile for matching over byte strings; throws RegexCompileError with RE2's reason. The same
 * pattern gives the same RE2JS object for the life of the process (bounded LRU, see
 * `boundedCache`): an RE2JS holds no per-match state, so sharing it is safe. Compiling is the
 * expensive part: the 373 patterns of the rules generated for the 103 bundled CVEs take 1.7 ms
 * each to compile, 0.4 µs to look up (node --import tsx, measured 2026-12), and generation
 * compiled the same patterns again for every candidate and check (49% of its CPU, issue 13).
 */
export function compileRegex(pattern: string): RE2JS {
  const re = compiled(pattern);
  if (typeof re === 'string') throw new RegexCompileError(`invalid regex ${JSON.stringify(pattern)}: ${re}`);
  return re;
}

/**
 * A cache bounded by entry count and by the total length of the patterns it holds (a compiled
 * program grows with its pattern). A pattern longer than MAX_CACHED_PATTERN (AWS caps a RegexString
 * at 512 bytes) is compiled every time and never cached, so a hostile caller cannot pin memory.
 */
const MAX_CACHED_PATTERN = 4096;
function boundedCache<V extends object>(): LRUCache<string, V> {
  return new LRUCache<string, V>({
    max: 2000,
    maxSize: 2 * 2 ** 20,
    maxEntrySize: MAX_CACHED_PATTERN,
    sizeCalculation: (_v, pattern) => Math.max(1, pattern.length),
  });
}

/** Wrapped so a compile error (a string) can be cached like a compiled pattern. */
const compiledCache = boundedCache<{ re: RE2JS | string }>();
const analyses = boundedCache<readonly RegexProblem[]>();

/** The compiled pattern, or RE2's reason for rejecting it. */
function compiled(pattern: string): RE2JS | string {
  const hit = compiledCache.get(pattern);
  if (hit) return hit.re;
  let re: RE2JS | string;
  try {
    re = RE2JS.compile(utf8ToByteString(pattern));
  } catch (e) {
    re = e instanceof Error ? e.message : String(e);
  }
  compiledCache.set(pattern, { re });
  return re;
}

/** For tests: how many compiled patterns and analyses are cached, and the compiled patterns' length. */
export function regexCacheSizes(): { compiled: number; compiledChars: number; analyses: number } {
  return {
    compiled: compiledCache.size,
    compiledChars: compiledCache.calculatedSize,
    analyses: analyses.size,
  };
}
