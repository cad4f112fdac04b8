// A search string that the transformations make impossible: LOWERCASE then "Select", UPPERCASE then
// "select", or a case-sensitive Method match on "post".
import type { LintCheck } from '../types.js';
import { foldedCase } from '../transforms.js';
import { fieldKind } from '../../waf/statements.js';

/** Letters a regex would match literally: escapes, classes and (?i) are set aside. */
function literalLetters(pattern: string): string {
  if (/\(\?[a-zA-Z]*i[a-zA-Z]*[):]/.test(pattern)) return '';
  return pattern
    .replace(/\\./g, '')
    .replace(/\[(?:\\.|[^\]\\])*\]/g, '')
    .replace(/\(\?[^)]*\)/g, '');
}

export const unmatchableCase: LintCheck = {
  code: 'unmatchable-case',
  severity: 'error',
  summary:
    'The search string or regex has letters of a case the transformations have already removed, so it can never match.',
  fix: 'Write the search string in the case the transformations produce (lower case after LOWERCASE).',
  statement(statement, { path }, _info, report) {
    const byte = statement.ByteMatchStatement;
    const re = statement.RegexMatchStatement;
    const target = byte ?? re;
    if (!target) return;
    const text = byte ? byte.SearchString : literalLetters(re!.RegexString);
    const kind = byte ? 'ByteMatchStatement' : 'RegexMatchStatement';
    const member = byte ? 'SearchString' : 'RegexString';
    const folded = foldedCase(target.TextTransformations);
    if (folded === 'lower' && /[A-Z]/.test(text)) {
      report([...path, kind, member], `${member} has upper-case letters but the value is lower-cased first`, {
        fix: `Use ${JSON.stringify(byte ? text.toLowerCase() : re!.RegexString.toLowerCase())}.`,
      });
    } else if (folded === 'upper' && /[a-z]/.test(text)) {
      report([...path, kind, member], `${member} has lower-case letters but the value is upper-cased first`);
    } else if (
      byte &&
      fieldKind(byte.FieldToMatch) === 'Method' &&
      folded === undefined &&
      /[a-z]/.test(text)
    ) {
      report([...path, kind, member], `HTTP methods arrive in upper case; "${text}" will not match them`, {
        severity: 'warning',
        fix: `Use ${JSON.stringify(text.toUpperCase())}.`,
      });
    }
  },
};
