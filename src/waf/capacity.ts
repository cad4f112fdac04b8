// Web ACL capacity units (WCU) as AWS publishes them per statement (AWS WAF Developer Guide, "Rule
// statement characteristics" of each statement; summary in ../shared/reference/aws-wafv2.md §5):
//   base cost per statement type; +10 per text transformation (NONE applies nothing and costs
//   nothing); +10 per pre-parse transformation; +10 for AllQueryArguments; JsonBody doubles the base
//   cost; And/Or/Not cost the sum of their children; rate-based 2 + 30 per custom key (+10 per
//   transformation inside a key) + its scope-down; group references cost the group's capacity.
// AWS may charge less when rules share work, so CheckCapacity can return less than this sum: this
// is the upper bound a deployment must fit.
import type { ByteMatchStatement, Rule, Statement, TextTransformation } from './model/shapes.generated.js';
import type { WafDocument } from './schema.js';
import { formatPath, type Finding, type JsonPath } from './findings.js';
import { fieldKind, fieldStatementOf, statementKind } from './statements.js';

/** Published capacities of AWS managed rule groups (vendor AWS). */
const AWS_MANAGED_GROUP_WCU: Readonly<Record<string, number>> = {
  AWSManagedRulesCommonRuleSet: 700,
  AWSManagedRulesKnownBadInputsRuleSet: 200,
  AWSManagedRulesSQLiRuleSet: 200,
  AWSManagedRulesLinuxRuleSet: 200,
  AWSManagedRulesUnixRuleSet: 100,
  AWSManagedRulesWindowsRuleSet: 200,
  AWSManagedRulesPHPRuleSet: 100,
  AWSManagedRulesWordPressRuleSet: 100,
  AWSManagedRulesAdminProtectionRuleSet: 100,
  AWSManagedRulesAmazonIpReputationList: 25,
  AWSManagedRulesAnonymousIpList: 50,
  AWSManagedRulesBotControlRuleSet: 50,
  AWSManagedRulesATPRuleSet: 50,
  AWSManagedRulesACFPRuleSet: 50,
};

/** WCU a web ACL may use in its base price; above it AWS bills every further 500 WCU. */
const WEB_ACL_INCLUDED_WCU = 1500;
/** Most WCU a web ACL may use (a fixed quota), and the largest Capacity a rule group may declare. */
export const MAX_WCU = 5000;

export interface CapacityOptions {
  /** Capacity of referenced rule groups, by ARN (your own groups) or `Vendor:Name` (managed groups). */
  groupCapacities?: Readonly<Record<string, number>>;
}

export interface Capacity {
  wcu: number;
  /** Group references whose capacity is unknown (counted as 0), as JSON paths. */
  unknown: string[];
}

const transformCost = (
  list: readonly TextTransformation[] | readonly { Type: string }[] | undefined,
): number => (list ?? []).filter((t) => t.Type !== 'NONE').length * 10;

function byteMatchBase(s: ByteMatchStatement): number {
  return s.PositionalConstraint === 'CONTAINS' || s.PositionalConstraint === 'CONTAINS_WORD' ? 10 : 2;
}

function baseCost(statement: Statement): number {
  const kind = statementKind(statement);
  switch (kind) {
    case 'ByteMatchStatement':
      return byteMatchBase(statement.ByteMatchStatement!);
    case 'RegexMatchStatement':
      return 3;
    case 'RegexPatternSetReferenceStatement':
      return 25;
    case 'SqliMatchStatement':
      return statement.SqliMatchStatement!.SensitivityLevel === 'HIGH' ? 30 : 20;
    case 'XssMatchStatement':
      return 40;
    case 'SizeConstraintStatement':
    case 'GeoMatchStatement':
    case 'AsnMatchStatement':
    case 'LabelMatchStatement':
      return 1;
    case 'IPSetReferenceStatement':
      return statement.IPSetReferenceStatement!.IPSetForwardedIPConfig?.Position === 'ANY' ? 5 : 1;
    default:
      return 0;
  }
}

/** A JSON path as a chain of links to the parent's, materialised only when a finding needs it. */
interface PathLink {
  up?: PathLink;
  segments: JsonPath;
}

function pathOf(link: PathLink): JsonPath {
  const parts: JsonPath[] = [];
  for (let l: PathLink | undefined = link; l; l = l.up) parts.push(l.segments);
  return parts.reverse().flat();
}

export function statementCapacity(
  statement: Statement,
  options: CapacityOptions = {},
  path: JsonPath = [],
): Capacity {
  const unknown: string[] = [];
  let wcu = 0;
  // Iterative, so a hostile tree of thousands of nested statements cannot overflow the stack; each
  // entry keeps a link to its parent's path rather than a copy, so depth costs linear time (copying
  // the path at every level made 20,000 nested NotStatements take ~25 s).
  const stack: { s: Statement; p: PathLink }[] = [{ s: statement, p: { segments: path } }];
  const at = (up: PathLink, ...segments: (string | number)[]): PathLink => ({ up, segments });
  while (stack.length > 0) {
    const { s, p } = stack.pop()!;
    const kind = statementKind(s);
    const field = fieldStatementOf(s);
    if (field) {
      const fk = fieldKind(field.FieldToMatch);
      let base = baseCost(s);
      if (fk === 'JsonBody') base *= 2;
      wcu += base + (fk === 'AllQueryArguments' ? 10 : 0);
      wcu += transformCost(field.TextTransformations) + transformCost(field.PreParseTextTransformations);
      continue;
    }
    switch (kind) {
      case 'AndStatement':
      case 'OrStatement':
        s[kind]!.Statements.forEach((c, i) => stack.push({ s: c, p: at(p, kind, 'Statements', i) }));
        break;
      case 'NotStatement':
        stack.push({ s: s.NotStatement!.Statement, p: at(p, 'NotStatement', 'Statement') });
        break;
      case 'RateBasedStatement': {
        const rate = s.RateBasedStatement!;
        wcu += 2;
        for (const key of rate.CustomKeys ?? []) {
          wcu += 30;
          const withTransforms =
            key.Header ?? key.Cookie ?? key.QueryArgument ?? key.QueryString ?? key.UriPath;
          wcu += transformCost(withTransforms?.TextTransformations);
        }
        if (rate.ScopeDownStatement)
          stack.push({ s: rate.ScopeDownStatement, p: at(p, kind, 'ScopeDownStatement') });
        break;
      }
      case 'ManagedRuleGroupStatement': {
        const m = s.ManagedRuleGroupStatement!;
        const known =
          options.groupCapacities?.[`${m.VendorName}:${m.Name}`] ??
          (m.VendorName === 'AWS' ? AWS_MANAGED_GROUP_WCU[m.Name] : undefined);
        if (known === undefined) unknown.push(formatPath([...pathOf(p), kind]));
        wcu += known ?? 0;
        if (m.ScopeDownStatement)
          stack.push({ s: m.ScopeDownStatement, p: at(p, kind, 'ScopeDownStatement') });
        break;
      }
      case 'RuleGroupReferenceStatement': {
        const known = options.groupCapacities?.[s.RuleGroupReferenceStatement!.ARN];
        if (known === undefined) unknown.push(formatPath([...pathOf(p), kind]));
        wcu += known ?? 0;
        break;
      }
      default:
        wcu += baseCost(s);
    }
  }
  return { wcu, unknown };
}

export function ruleCapacity(rule: Rule, options: CapacityOptions = {}, path: JsonPath = []): Capacity {
  return statementCapacity(rule.Statement, options, [...path, 'Statement']);
}

export function rulesCapacity(
  rules: readonly Rule[],
  options: CapacityOptions = {},
  path: JsonPath = [],
): Capacity {
  const total: Capacity = { wcu: 0, unknown: [] };
  rules.forEach((rule, i) => {
    const c = ruleCapacity(rule, options, [...path, i]);
    total.wcu += c.wcu;
    total.unknown.push(...c.unknown);
  });
  return total;
}

/**
 * Capacity a document consumes. For a rule group that is the sum of its rules (to compare with its
 * declared Capacity); for a web ACL, the sum of its rules with group references at their capacity.
 */
export function documentCapacity(doc: WafDocument, options: CapacityOptions = {}): Capacity {
  switch (doc.kind) {
    case 'rule':
      return ruleCapacity(doc.rule, options);
    case 'rules':
      return rulesCapacity(doc.rules, options);
    case 'rule-group':
      return rulesCapacity(doc.ruleGroup.Rules ?? [], options, ['Rules']);
    case 'web-acl':
      return rulesCapacity(doc.webAcl.Rules ?? [], options, ['Rules']);
  }
}

/** Codes of the capacity findings that make AWS refuse a document. */
export const CAPACITY_ERRORS: ReadonlySet<string> = new Set(['capacity-exceeded', 'too-many-rules']);

export interface CapacityCheck extends Capacity {
  /** Rules in the document. */
  rules: number;
  /** Capacity findings, paths relative to the document's root. */
  findings: Finding[];
}

const plural = (n: number, one: string): string => `${n} ${one}${n === 1 ? '' : 's'}`;

/**
 * The capacity checks AWS makes when the document is created or updated, as findings: a rule
 * group's rules must fit the Capacity it declared (fixed at creation); a web ACL's rules, with every
 * referenced group at its capacity, at most 5,000 WCU (a warning above the 1,500 included in the
 * base price); a rule or list of rules, which will go into one or the other, at most 5,000 WCU. Every
 * rule costs at least 1 WCU, so a document with more rules than its capacity is refused even when
 * the capacity of a referenced group is unknown (counted as 0). Used by `validateRuleDocument`, so
 * `wafgen validate`, `wafgen test` and the library's `validateRules`/`testRules` judge the same.
 */
export function checkCapacity(doc: WafDocument, options: CapacityOptions = {}): CapacityCheck {
  const capacity = documentCapacity(doc, options);
  const { wcu } = capacity;
  const rules =
    doc.kind === 'rule'
      ? 1
      : doc.kind === 'rules'
        ? doc.rules.length
        : ((doc.kind === 'rule-group' ? doc.ruleGroup.Rules : doc.webAcl.Rules) ?? []).length;
  const findings: Finding[] = capacity.unknown.map((path) => ({
    code: 'capacity-unknown',
    severity: 'warning',
    path,
    message: 'capacity of the referenced rule group is unknown; the WCU total leaves it out',
  }));
  const rulesPath = doc.kind === 'rule-group' || doc.kind === 'web-acl' ? '$.Rules' : '$';
  const limit = doc.kind === 'rule-group' ? doc.ruleGroup.Capacity : MAX_WCU;
  const where =
    doc.kind === 'rule-group'
      ? ` but the rule group's Capacity is ${limit}`
      : doc.kind === 'web-acl'
        ? `; a web ACL allows at most ${MAX_WCU}`
        : `; no web ACL or rule group holds more than ${MAX_WCU}`;
  if (wcu > limit) {
    findings.push({
      code: 'capacity-exceeded',
      severity: 'error',
      path: doc.kind === 'rule-group' ? '$.Capacity' : rulesPath,
      message: `rules need ${wcu} WCU${where}`,
      fix:
        doc.kind === 'rule-group'
          ? 'Capacity is fixed at creation: create a new rule group with enough capacity, or simplify the rules.'
          : 'Split the rules across rule groups or web ACLs, or simplify them (fewer transformations, EXACTLY instead of CONTAINS).',
    });
  } else if (rules > limit) {
    findings.push({
      code: 'too-many-rules',
      severity: 'error',
      path: rulesPath,
      message: `${plural(rules, 'rule')} need at least ${rules} WCU (1 each)${where}`,
    });
  } else if (doc.kind === 'web-acl' && wcu > WEB_ACL_INCLUDED_WCU) {
    findings.push({
      code: 'capacity-billing',
      severity: 'warning',
      path: rulesPath,
      message: `rules need ${wcu} WCU; above ${WEB_ACL_INCLUDED_WCU} AWS bills extra per request`,
    });
  }
  return { ...capacity, rules, findings };
}
