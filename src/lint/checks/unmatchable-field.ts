// Statements that can never match because of what the component can contain: a `?` in a UriPath
// (the query is not part of it), a QueryString that starts with `?`, CONTAINS_WORD with a search
// string that is not a word, a Body SizeConstraint above the inspection limit without MATCH.
import type { LintCheck } from '../types.js';
import { fieldKind } from '../../waf/statements.js';
import { URL_DECODERS } from '../transforms.js';

const BODY_LIMIT = 8 * 1024;

export const unmatchableField: LintCheck = {
  code: 'unmatchable-field',
  severity: 'error',
  summary:
    'The statement looks for something the inspected component can never contain (a "?" in UriPath, a leading "?" in QueryString, a non-word CONTAINS_WORD string, a body size beyond the inspection limit).',
  fix: 'Inspect the component that holds the value (QueryString for the query), or change the operator.',
  statement(statement, { path }, _info, report) {
    const b = statement.ByteMatchStatement;
    if (b) {
      const fk = fieldKind(b.FieldToMatch);
      const decodes = b.TextTransformations.some((t) => URL_DECODERS.has(t.Type));
      const p = [...path, 'ByteMatchStatement', 'SearchString'];
      if (fk === 'UriPath' && b.SearchString.includes('?') && !decodes) {
        report(p, 'UriPath never contains "?": the query string is a separate component', {
          fix: 'Match the path and the QueryString in an AndStatement.',
        });
      }
      if (
        fk === 'QueryString' &&
        b.SearchString.startsWith('?') &&
        (b.PositionalConstraint === 'STARTS_WITH' || b.PositionalConstraint === 'EXACTLY')
      ) {
        report(p, 'QueryString does not include the leading "?"', {
          fix: `Use ${JSON.stringify(b.SearchString.slice(1))}.`,
        });
      }
      if (b.PositionalConstraint === 'CONTAINS_WORD' && /[^A-Za-z0-9_]/.test(b.SearchString)) {
        report(p, 'CONTAINS_WORD needs a SearchString of word characters only ([A-Za-z0-9_])', {
          fix: 'Use CONTAINS, or a word-only search string.',
        });
      }
    }
    const size = statement.SizeConstraintStatement;
    if (size) {
      const fk = fieldKind(size.FieldToMatch);
      const handling =
        size.FieldToMatch.Body?.OversizeHandling ?? size.FieldToMatch.JsonBody?.OversizeHandling;
      if (
        (fk === 'Body' || fk === 'JsonBody') &&
        (size.ComparisonOperator === 'GT' || size.ComparisonOperator === 'GE') &&
        size.Size >= BODY_LIMIT &&
        handling !== 'MATCH'
      ) {
        report(
          [...path, 'SizeConstraintStatement', 'Size'],
          `WAF sees at most the first 8-16 KB of the body, so "size ${size.ComparisonOperator} ${size.Size}" may never match`,
          {
            severity: 'warning',
            fix: 'Set OversizeHandling MATCH on the Body field to catch oversize bodies.',
          },
        );
      }
    }
  },
};
