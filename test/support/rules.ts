// Small builders for WAFv2 rule documents in tests, so each test shows only what it is about.
import type {
  FieldToMatch,
  PositionalConstraint,
  Rule,
  RuleAction,
  Statement,
  TextTransformation,
  TextTransformationType,
} from '../../src/waf/schema.js';

export const tt = (...types: TextTransformationType[]): TextTransformation[] =>
  (types.length ? types : (['NONE'] as TextTransformationType[])).map((Type, Priority) => ({
    Priority,
    Type,
  }));

export const field = {
  uri: (): FieldToMatch => ({ UriPath: {} }),
  query: (): FieldToMatch => ({ QueryString: {} }),
  args: (): FieldToMatch => ({ AllQueryArguments: {} }),
  arg: (Name: string): FieldToMatch => ({ SingleQueryArgument: { Name } }),
  header: (Name: string): FieldToMatch => ({ SingleHeader: { Name } }),
  method: (): FieldToMatch => ({ Method: {} }),
  body: (OversizeHandling?: 'CONTINUE' | 'MATCH' | 'NO_MATCH'): FieldToMatch => ({
    Body: OversizeHandling ? { OversizeHandling } : {},
  }),
  json: (): FieldToMatch => ({
    JsonBody: { MatchPattern: { All: {} }, MatchScope: 'VALUE', OversizeHandling: 'MATCH' },
  }),
  headers: (): FieldToMatch => ({
    Headers: { MatchPattern: { All: {} }, MatchScope: 'ALL', OversizeHandling: 'MATCH' },
  }),
};

export function byteMatch(
  SearchString: string,
  FieldToMatch: FieldToMatch = field.uri(),
  PositionalConstraint: PositionalConstraint = 'CONTAINS',
  TextTransformations: TextTransformation[] = tt(),
): Statement {
  return { ByteMatchStatement: { SearchString, FieldToMatch, PositionalConstraint, TextTransformations } };
}

export function regex(
  RegexString: string,
  FieldToMatch: FieldToMatch = field.uri(),
  TextTransformations: TextTransformation[] = tt(),
): Statement {
  return { RegexMatchStatement: { RegexString, FieldToMatch, TextTransformations } };
}

export const and = (...Statements: Statement[]): Statement => ({ AndStatement: { Statements } });
export const or = (...Statements: Statement[]): Statement => ({ OrStatement: { Statements } });
export const not = (Statement: Statement): Statement => ({ NotStatement: { Statement } });

export function rule(
  Statement: Statement,
  options: { name?: string; priority?: number; action?: RuleAction; metric?: string } = {},
): Rule {
  const name = options.name ?? 'wafgen-CVE-2021-44228';
  return {
    Name: name,
    Priority: options.priority ?? 0,
    Statement,
    Action: options.action ?? { Block: {} },
    VisibilityConfig: {
      SampledRequestsEnabled: true,
      CloudWatchMetricsEnabled: true,
      MetricName: options.metric ?? name,
    },
  };
}
