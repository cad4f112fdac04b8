// Helpers to look inside the Statement union. Shared by the schema's semantic checks, lint, WCU and
// the evaluator so that "which statement is this" is answered in one place.
import type { FieldToMatch, Statement, TextTransformation } from './model/shapes.generated.js';
import type { JsonPath } from './findings.js';

export type StatementKind = keyof Statement & string;

/** Every member of the Statement union (the compiler checks the list is complete). */
export const STATEMENT_KINDS = [
  'ByteMatchStatement',
  'SqliMatchStatement',
  'XssMatchStatement',
  'SizeConstraintStatement',
  'GeoMatchStatement',
  'RuleGroupReferenceStatement',
  'IPSetReferenceStatement',
  'RegexPatternSetReferenceStatement',
  'RateBasedStatement',
  'AndStatement',
  'OrStatement',
  'NotStatement',
  'ManagedRuleGroupStatement',
  'LabelMatchStatement',
  'RegexMatchStatement',
  'AsnMatchStatement',
] as const satisfies readonly StatementKind[];
const _everyKind: [Exclude<StatementKind, (typeof STATEMENT_KINDS)[number]>] extends [never] ? true : never =
  true;

/** Statements that may only be a rule's top-level statement. */
export const TOP_LEVEL_ONLY: ReadonlySet<StatementKind> = new Set([
  'RateBasedStatement',
  'ManagedRuleGroupStatement',
  'RuleGroupReferenceStatement',
]);

/** Statements whose rules take OverrideAction instead of Action. */
export const GROUP_REFERENCES: ReadonlySet<StatementKind> = new Set([
  'ManagedRuleGroupStatement',
  'RuleGroupReferenceStatement',
]);

/** Statements that inspect a request component through FieldToMatch + TextTransformations. */
export type FieldStatement = {
  FieldToMatch: FieldToMatch;
  TextTransformations: TextTransformation[];
  PreParseTextTransformations?: { Priority: number; Type: string }[];
};

export function statementKind(statement: Statement): StatementKind {
  for (const key of Object.keys(statement) as StatementKind[]) {
    if (statement[key] !== undefined) return key;
  }
  throw new Error('empty Statement');
}

export function fieldStatementOf(statement: Statement): FieldStatement | undefined {
  return (
    statement.ByteMatchStatement ??
    statement.RegexMatchStatement ??
    statement.RegexPatternSetReferenceStatement ??
    statement.SqliMatchStatement ??
    statement.XssMatchStatement ??
    statement.SizeConstraintStatement
  );
}

export function fieldKind(field: FieldToMatch): keyof FieldToMatch & string {
  for (const key of Object.keys(field) as (keyof FieldToMatch & string)[]) {
    if (field[key] !== undefined) return key;
  }
  throw new Error('empty FieldToMatch');
}

/** Direct children of a statement with their relative paths (scope-down statements included). */
function childStatements(statement: Statement): { statement: Statement; path: JsonPath }[] {
  const kind = statementKind(statement);
  switch (kind) {
    case 'AndStatement':
    case 'OrStatement':
      return statement[kind]!.Statements.map((s, i) => ({ statement: s, path: [kind, 'Statements', i] }));
    case 'NotStatement':
      return [{ statement: statement.NotStatement!.Statement, path: ['NotStatement', 'Statement'] }];
    case 'RateBasedStatement':
    case 'ManagedRuleGroupStatement': {
      const scopeDown = statement[kind]!.ScopeDownStatement;
      return scopeDown ? [{ statement: scopeDown, path: [kind, 'ScopeDownStatement'] }] : [];
    }
    default:
      return [];
  }
}

export interface VisitContext {
  path: JsonPath;
  depth: number;
  /** Kinds of the enclosing statements, outermost first. */
  ancestors: readonly StatementKind[];
}

/** Depth-first walk over a statement tree; iterative so hostile nesting cannot blow the stack. */
export function walkStatements(
  root: Statement,
  rootPath: JsonPath,
  visit: (statement: Statement, ctx: VisitContext) => void,
): void {
  const stack: { statement: Statement; ctx: VisitContext }[] = [
    { statement: root, ctx: { path: rootPath, depth: 0, ancestors: [] } },
  ];
  while (stack.length > 0) {
    const { statement, ctx } = stack.pop()!;
    visit(statement, ctx);
    const kind = statementKind(statement);
    const children = childStatements(statement);
    for (let i = children.length - 1; i >= 0; i--) {
      const child = children[i]!;
      stack.push({
        statement: child.statement,
        ctx: {
          path: [...ctx.path, ...child.path],
          depth: ctx.depth + 1,
          ancestors: [...ctx.ancestors, kind],
        },
      });
    }
  }
}
