// Regular expressions in WAFv2 rules: what AWS accepts (a PCRE subset), what RE2 accepts (the
// linear-time engine wafgen evaluates with, so no rule can hang it), and compilation over byte
// strings (see ../core/bytes.ts) so `.` matches one byte, as in AWS.
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

export function analyzeRegex(pattern: string): RegexProblem[] {
  const problems: RegexProblem[] = [];
  const ops = structural(pattern);
  for (const { re, what, raw } of AWS_UNSUPPORTED) {
    if (re.test(raw ? pattern : ops))
      problems.push({ severity: 'error', message: `uses ${what}, which AWS WAF rejects` });
  }
  try {
    RE2JS.compile(utf8ToByteString(pattern));
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    if (problems.length === 0) problems.push({ severity: 'error', message: `RE2 rejects it: ${reason}` });
  }
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

/** Compile for matching over byte strings; throws RegexCompileError with RE2's reason. */
export function compileRegex(pattern: string): RE2JS {
  try {
    return RE2JS.compile(utf8ToByteString(pattern));
  } catch (e) {
    throw new RegexCompileError(
      `invalid regex ${JSON.stringify(pattern)}: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
}
