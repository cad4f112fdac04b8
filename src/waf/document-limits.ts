/**
 * @module wafgen's input limits applied to a rule document before anything else reads it: JSON
 * depth and size of the value, rules per document, statements per rule and statement nesting
 * (`core/limits.ts` holds the numbers). One iterative walk over the raw value, so a hostile document
 * is refused with an InputLimitError before the recursive schema parse, the SearchString decoding
 * or the evaluator's compiler could overflow the stack or take long. `validateRuleDocument` runs it
 * first, so `wafgen validate`, `wafgen test`, `validateRules`, `testRules` and the API agree.
 */
import { InputLimitError, limitOf, shortPath, walkJsonValue } from '../core/limits.js';
import { STATEMENT_KINDS } from './statements.js';

const KINDS: ReadonlySet<string> = new Set(STATEMENT_KINDS);

interface RuleCounter {
  statements: number;
  path: () => string;
}

interface WalkState {
  /** Statements of the rule this node is in (the root's own counter outside any rule). */
  rule: RuleCounter;
  /** Statement members on the path: 1 inside a rule's top-level statement. */
  level: number;
  /** This node is an array of rules (a document's `Rules`, or a top-level array). */
  rules: boolean;
}

export interface DocumentLimitOptions {
  /** The document's name in the error (a file, `document`, `request body`). */
  source?: string;
}

/** Throw an InputLimitError when a raw (unvalidated) rule document is over any input limit. */
export function checkDocumentLimits(value: unknown, options: DocumentLimitOptions = {}): void {
  const maxRules = limitOf('rules');
  const maxStatements = limitOf('statements-per-rule');
  const maxLevel = limitOf('statement-depth');
  const src = options.source ? { source: options.source } : {};
  let rules = 0;
  walkJsonValue<WalkState>(value, {
    ...src,
    enter(key, node, ctx) {
      const up = ctx.state;
      if (up === undefined) {
        return { rule: { statements: 0, path: ctx.pin() }, level: 0, rules: Array.isArray(node) };
      }
      let state = up.rules === false ? up : { ...up, rules: false };
      if (up.rules && typeof key === 'number') {
        if (++rules > maxRules) throw new InputLimitError('rules', `more than ${maxRules} rules`, src);
        state = { rule: { statements: 0, path: ctx.pin() }, level: 0, rules: false };
      } else if (key === 'Rules' && Array.isArray(node)) {
        state = { ...state, rules: true };
      } else if (typeof key === 'string' && KINDS.has(key)) {
        const rule = state.rule;
        if (++rule.statements > maxStatements)
          throw new InputLimitError(
            'statements-per-rule',
            `more than ${maxStatements} statements in the rule at ${shortPath(rule.path())}`,
            src,
          );
        const level = state.level + 1;
        // Level 1 is the top-level statement: the limit counts the levels below it.
        if (level - 1 > maxLevel)
          throw new InputLimitError(
            'statement-depth',
            `statements nested ${level - 1} levels deep at ${shortPath(ctx.path())}`,
            src,
          );
        state = { ...state, level };
      }
      return state;
    },
  });
}
