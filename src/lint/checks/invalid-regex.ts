// Regexes AWS WAF would refuse (backreferences, lookaround, possessive quantifiers...) or RE2 cannot
// compile; warnings for constructs AWS documents as unsupported but may accept.
import type { LintCheck } from '../types.js';
import { analyzeRegex } from '../../waf/regex.js';

export const invalidRegex: LintCheck = {
  code: 'invalid-regex',
  severity: 'error',
  summary:
    'A RegexString uses syntax AWS WAF rejects or RE2 cannot compile (backreferences, lookaround, possessive or atomic groups, \\K...).',
  fix: 'Rewrite the pattern with plain alternation, classes and non-capturing groups (?:...).',
  statement(statement, { path }, _info, report) {
    const re = statement.RegexMatchStatement;
    if (!re) return;
    for (const p of analyzeRegex(re.RegexString)) {
      report([...path, 'RegexMatchStatement', 'RegexString'], p.message, { severity: p.severity });
    }
  },
};
