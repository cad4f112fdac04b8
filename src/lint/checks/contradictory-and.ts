// An AND that can never be true: two exact matches of different values on the same component
// (Method EXACTLY "GET" and Method EXACTLY "POST"), or a statement next to its own negation.
import type { Statement } from '../../waf/model/shapes.generated.js';
import type { LintCheck } from '../types.js';

const canonical = (v: unknown): string => JSON.stringify(v);

export const contradictoryAnd: LintCheck = {
  code: 'contradictory-and',
  severity: 'error',
  summary: 'An AndStatement requires two things that cannot both hold, so the rule never matches.',
  fix: 'Use an OrStatement for alternatives, or remove the contradicting statement.',
  statement(statement, { path }, _info, report) {
    const children: readonly Statement[] | undefined = statement.AndStatement?.Statements;
    if (!children) return;
    const exact = new Map<string, { value: string; index: number }>();
    const seen = new Map<string, number>();
    children.forEach((child, i) => seen.set(canonical(child), i));
    children.forEach((child, i) => {
      const b = child.ByteMatchStatement;
      if (b && b.PositionalConstraint === 'EXACTLY') {
        const key = canonical([b.FieldToMatch, b.TextTransformations]);
        const other = exact.get(key);
        if (
          other &&
          other.value !== b.SearchString &&
          !('Headers' in b.FieldToMatch) &&
          !('Cookies' in b.FieldToMatch) &&
          !('AllQueryArguments' in b.FieldToMatch) &&
          !('JsonBody' in b.FieldToMatch)
        ) {
          report(
            [...path, 'AndStatement', 'Statements', i],
            `requires the same component to equal both "${other.value}" and "${b.SearchString}" (statement ${other.index})`,
          );
        }
        exact.set(key, { value: b.SearchString, index: i });
      }
      const negated = child.NotStatement?.Statement;
      if (negated) {
        const j = seen.get(canonical(negated));
        if (j !== undefined)
          report(
            [...path, 'AndStatement', 'Statements', i],
            `negates statement ${j} of the same AndStatement`,
          );
      }
    });
  },
};
