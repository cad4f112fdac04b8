// What the WAFv2 API model does not say but the service enforces, or where wafgen deliberately reads
// the model differently. Used by the schema generator and restated independently by the model test.

/**
 * Structures the model declares with all-optional members but the service treats as "exactly one
 * member" (error reason EXACTLY_ONE_CONDITION_REQUIRED).
 */
export const UNION_SHAPES: readonly string[] = [
  'Statement',
  'FieldToMatch',
  'RuleAction',
  'OverrideAction',
  'DefaultAction',
  'HeaderMatchPattern',
  'CookieMatchPattern',
  'JsonMatchPattern',
  'RateBasedStatementCustomKey',
  'FirewallManagerStatement',
  'ManagedRuleGroupConfig',
];

/**
 * Members the model marks required on Get* outputs that a rule document written by a person (or the
 * Create* request it becomes) does not carry: AWS assigns them.
 */
export const RELAXED_REQUIRED: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  RuleGroup: { Id: 'assigned by AWS on create', ARN: 'assigned by AWS on create' },
  WebACL: { Id: 'assigned by AWS on create', ARN: 'assigned by AWS on create' },
  RegexPatternSet: {},
  IPSet: { Id: 'assigned by AWS on create', ARN: 'assigned by AWS on create' },
};
