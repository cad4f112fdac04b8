// Constraints the WAFv2 service enforces that its API model does not express: service quotas,
// "only at the top level", Action vs OverrideAction, And/Or arity, unique priorities... Each one is a
// finding with severity "error" because AWS would refuse the request. Sources: ../shared/reference
// (aws-wafv2.md §1, §3, §5, §6, §7) and the AWS WAF Developer Guide.
import type {
  CustomHTTPHeader,
  Rule,
  RuleAction,
  RateBasedStatement,
  Statement,
} from './model/shapes.generated.js';
import { formatPath, type Finding, type JsonPath } from './findings.js';
import {
  fieldKind,
  fieldStatementOf,
  GROUP_REFERENCES,
  statementKind,
  TOP_LEVEL_ONLY,
  walkStatements,
} from './statements.js';
import { utf8ByteLength } from '../core/bytes.js';

type RuleContext = 'standalone' | 'rule-group' | 'web-acl';

export const LIMITS = {
  searchStringBytes: 200,
  regexChars: 200,
  textTransformations: 10,
  preParseTextTransformations: 10,
  rateBasedRulesPerWebAcl: 10,
  rateBasedRulesPerRuleGroup: 4,
  customHeaders: 10,
  challengeImmunityMin: 300,
  labelNamespaces: 5,
  labelComponentChars: 128,
  maxCapacity: 5000,
} as const;

const RATE_WINDOWS = [60, 120, 300, 600] as const;
const RESERVED_METRIC_NAMES = ['All', 'Default_Action'] as const;
const RESERVED_LABEL_WORDS = [
  'awswaf',
  'aws',
  'waf',
  'rulegroup',
  'webacl',
  'regexpatternset',
  'ipset',
  'managed',
];

class Collector {
  readonly findings: Finding[] = [];
  error(code: string, path: JsonPath, message: string, fix?: string): void {
    this.findings.push({ code, severity: 'error', path: formatPath(path), message, ...(fix ? { fix } : {}) });
  }
}

function checkTransformations(
  c: Collector,
  list: readonly { Priority: number }[] | undefined,
  path: JsonPath,
  max: number,
  what: string,
): void {
  if (!list) return;
  if (list.length > max) {
    c.error(
      'too-many-transformations',
      path,
      `${list.length} ${what} (AWS allows at most ${max} per statement)`,
      `Keep at most ${max}.`,
    );
  }
  const seen = new Set<number>();
  list.forEach((t, i) => {
    if (seen.has(t.Priority)) {
      c.error(
        'duplicate-transformation-priority',
        [...path, i, 'Priority'],
        `priority ${t.Priority} is used twice in ${what}`,
        'Give every transformation its own Priority.',
      );
    }
    seen.add(t.Priority);
  });
}

function checkLabel(c: Collector, name: string, path: JsonPath): void {
  const parts = name.split(':');
  if (parts.some((p) => p === '')) {
    c.error(
      'label-format',
      path,
      `label "${name}" has an empty component`,
      'Separate non-empty components with single colons.',
    );
    return;
  }
  if (parts.length - 1 > LIMITS.labelNamespaces) {
    c.error(
      'label-format',
      path,
      `label "${name}" has ${parts.length - 1} namespaces (at most ${LIMITS.labelNamespaces})`,
      'Use fewer namespace levels.',
    );
  }
  const long = parts.find((p) => p.length > LIMITS.labelComponentChars);
  if (long)
    c.error(
      'label-format',
      path,
      `label component "${long.slice(0, 20)}…" exceeds ${LIMITS.labelComponentChars} characters`,
    );
  const reserved = parts.find((p) => RESERVED_LABEL_WORDS.includes(p));
  if (reserved)
    c.error(
      'label-format',
      path,
      `label "${name}" uses the reserved word "${reserved}"`,
      'Rename that component.',
    );
}

function checkCustomHeaders(
  c: Collector,
  headers: readonly CustomHTTPHeader[] | undefined,
  path: JsonPath,
): void {
  if (!headers) return;
  if (headers.length > LIMITS.customHeaders) {
    c.error('custom-headers', path, `${headers.length} custom headers (at most ${LIMITS.customHeaders})`);
  }
  const seen = new Set<string>();
  headers.forEach((h, i) => {
    const lower = h.Name.toLowerCase();
    if (lower === 'content-type')
      c.error(
        'custom-headers',
        [...path, i, 'Name'],
        'content-type cannot be set as a custom header',
        'Use the response body ContentType instead.',
      );
    if (seen.has(lower)) c.error('custom-headers', [...path, i, 'Name'], `header "${h.Name}" is set twice`);
    seen.add(lower);
  });
}

function checkAction(
  c: Collector,
  action: RuleAction,
  path: JsonPath,
  bodyKeys: ReadonlySet<string> | undefined,
): void {
  const handling = action.Allow ?? action.Count ?? action.Captcha ?? action.Challenge;
  if (handling?.CustomRequestHandling) {
    checkCustomHeaders(c, handling.CustomRequestHandling.InsertHeaders, [
      ...path,
      Object.keys(action)[0]!,
      'CustomRequestHandling',
      'InsertHeaders',
    ]);
  }
  const response = action.Block?.CustomResponse;
  if (response) {
    checkCustomHeaders(c, response.ResponseHeaders, [...path, 'Block', 'CustomResponse', 'ResponseHeaders']);
    if (
      response.CustomResponseBodyKey !== undefined &&
      bodyKeys &&
      !bodyKeys.has(response.CustomResponseBodyKey)
    ) {
      c.error(
        'custom-response-body-missing',
        [...path, 'Block', 'CustomResponse', 'CustomResponseBodyKey'],
        `no CustomResponseBodies entry named "${response.CustomResponseBodyKey}"`,
        'Define the body in the web ACL or rule group, or remove the key.',
      );
    }
  }
}

function checkRateBased(c: Collector, rate: RateBasedStatement, path: JsonPath): void {
  const p = [...path, 'RateBasedStatement'];
  if (
    rate.EvaluationWindowSec !== undefined &&
    !(RATE_WINDOWS as readonly number[]).includes(rate.EvaluationWindowSec)
  ) {
    c.error(
      'rate-based-window',
      [...p, 'EvaluationWindowSec'],
      `EvaluationWindowSec must be one of ${RATE_WINDOWS.join(', ')}`,
    );
  }
  if (rate.AggregateKeyType === 'FORWARDED_IP' && !rate.ForwardedIPConfig) {
    c.error(
      'rate-based-keys',
      p,
      'AggregateKeyType FORWARDED_IP needs a ForwardedIPConfig',
      'Add ForwardedIPConfig with the header that carries the client IP.',
    );
  }
  if (rate.AggregateKeyType === 'CONSTANT' && !rate.ScopeDownStatement) {
    c.error('rate-based-keys', p, 'AggregateKeyType CONSTANT needs a ScopeDownStatement');
  }
  const keys = rate.CustomKeys ?? [];
  if (rate.AggregateKeyType === 'CUSTOM_KEYS' && keys.length === 0) {
    c.error('rate-based-keys', p, 'AggregateKeyType CUSTOM_KEYS needs at least one CustomKeys entry');
  }
  if (rate.AggregateKeyType !== 'CUSTOM_KEYS' && keys.length > 0) {
    c.error(
      'rate-based-keys',
      [...p, 'CustomKeys'],
      `CustomKeys are only allowed with AggregateKeyType CUSTOM_KEYS (got ${rate.AggregateKeyType})`,
    );
  }
  if (keys.length > 0 && keys.every((k) => k.IP !== undefined || k.ForwardedIP !== undefined)) {
    c.error(
      'rate-based-keys',
      [...p, 'CustomKeys'],
      'IP and ForwardedIP custom keys must be combined with at least one other key',
      'Use AggregateKeyType IP instead, or add another key.',
    );
  }
  if (keys.some((k) => k.ForwardedIP !== undefined) && !rate.ForwardedIPConfig) {
    c.error('rate-based-keys', p, 'a ForwardedIP custom key needs ForwardedIPConfig');
  }
  keys.forEach((k, i) => {
    const withTransforms = k.Header ?? k.Cookie ?? k.QueryArgument ?? k.QueryString ?? k.UriPath;
    if (withTransforms)
      checkTransformations(
        c,
        withTransforms.TextTransformations,
        [...p, 'CustomKeys', i, Object.keys(k)[0]!, 'TextTransformations'],
        LIMITS.textTransformations,
        'text transformations',
      );
  });
}

function checkStatementTree(c: Collector, root: Statement, rootPath: JsonPath, context: RuleContext): number {
  let rateBased = 0;
  walkStatements(root, rootPath, (statement, { path, depth }) => {
    const kind = statementKind(statement);
    if (TOP_LEVEL_ONLY.has(kind) && depth > 0) {
      c.error(
        'top-level-only',
        path,
        `${kind} can only be a rule's top-level statement`,
        'Move it into a rule of its own.',
      );
    }
    if (GROUP_REFERENCES.has(kind) && context === 'rule-group') {
      c.error('top-level-only', path, `${kind} is not allowed inside a rule group (web ACL only)`);
    }
    switch (kind) {
      case 'AndStatement':
      case 'OrStatement': {
        const n = statement[kind]!.Statements.length;
        if (n < 2) {
          c.error(
            'logical-arity',
            [...path, kind, 'Statements'],
            `${kind} needs at least 2 statements (has ${n})`,
            n === 1 ? 'Use the single statement directly.' : 'Add statements or remove the block.',
          );
        }
        break;
      }
      case 'RateBasedStatement':
        rateBased++;
        checkRateBased(c, statement.RateBasedStatement!, path);
        break;
      case 'GeoMatchStatement':
        if (!statement.GeoMatchStatement!.CountryCodes) {
          c.error('geo-country-codes', [...path, kind], 'GeoMatchStatement needs CountryCodes');
        }
        break;
      case 'LabelMatchStatement': {
        const { Scope, Key } = statement.LabelMatchStatement!;
        if (Scope === 'NAMESPACE' && !Key.endsWith(':'))
          c.error(
            'label-format',
            [...path, kind, 'Key'],
            'a NAMESPACE key must end with ":"',
            `Use "${Key}:".`,
          );
        if (Scope === 'LABEL' && Key.endsWith(':'))
          c.error(
            'label-format',
            [...path, kind, 'Key'],
            'a LABEL key must not end with ":"',
            'Use Scope NAMESPACE or drop the colon.',
          );
        break;
      }
      case 'ByteMatchStatement': {
        const bytes = utf8ByteLength(statement.ByteMatchStatement!.SearchString);
        if (bytes > LIMITS.searchStringBytes) {
          c.error(
            'search-string-too-long',
            [...path, kind, 'SearchString'],
            `SearchString is ${bytes} bytes (AWS allows ${LIMITS.searchStringBytes})`,
            'Match a shorter distinctive token, or use a regex.',
          );
        }
        break;
      }
      case 'RegexMatchStatement': {
        const n = statement.RegexMatchStatement!.RegexString.length;
        if (n > LIMITS.regexChars) {
          c.error(
            'regex-too-long',
            [...path, kind, 'RegexString'],
            `RegexString is ${n} characters (service quota ${LIMITS.regexChars})`,
            'Split it into several statements under an OrStatement.',
          );
        }
        break;
      }
      default:
        break;
    }
    const field = fieldStatementOf(statement);
    if (field) {
      const base = [...path, kind];
      checkTransformations(
        c,
        field.TextTransformations,
        [...base, 'TextTransformations'],
        LIMITS.textTransformations,
        'text transformations',
      );
      checkTransformations(
        c,
        field.PreParseTextTransformations,
        [...base, 'PreParseTextTransformations'],
        LIMITS.preParseTextTransformations,
        'pre-parse transformations',
      );
      const fk = fieldKind(field.FieldToMatch);
      if (field.PreParseTextTransformations && fk !== 'SingleQueryArgument' && fk !== 'AllQueryArguments') {
        c.error(
          'pre-parse-field',
          [...base, 'PreParseTextTransformations'],
          `PreParseTextTransformations only apply to SingleQueryArgument or AllQueryArguments (field is ${fk})`,
        );
      }
      if (
        (fk === 'JA3Fingerprint' || fk === 'JA4Fingerprint') &&
        !(kind === 'ByteMatchStatement' && statement.ByteMatchStatement!.PositionalConstraint === 'EXACTLY')
      ) {
        c.error(
          'fingerprint-field',
          [...base, 'FieldToMatch', fk],
          `${fk} can only be inspected by a ByteMatchStatement with PositionalConstraint EXACTLY`,
        );
      }
    }
  });
  return rateBased;
}

export interface RuleCheckOptions {
  context: RuleContext;
  /** Names of the CustomResponseBodies of the enclosing document, when known. */
  bodyKeys?: ReadonlySet<string>;
}

/** API constraints for one rule. Returns how many rate-based statements it holds. */
export function checkRule(c: Collector, rule: Rule, path: JsonPath, options: RuleCheckOptions): number {
  const kind = statementKind(rule.Statement);
  const isGroupRef = GROUP_REFERENCES.has(kind);
  if (isGroupRef) {
    if (!rule.OverrideAction)
      c.error(
        'rule-action',
        path,
        `a ${kind} rule needs OverrideAction ({"None":{}} or {"Count":{}})`,
        'Replace Action with OverrideAction.',
      );
    if (rule.Action)
      c.error('rule-action', [...path, 'Action'], `a ${kind} rule takes OverrideAction, not Action`);
    if (rule.RuleLabels)
      c.error('rule-action', [...path, 'RuleLabels'], `RuleLabels are not allowed on a ${kind} rule`);
  } else {
    if (!rule.Action)
      c.error(
        'rule-action',
        path,
        'the rule needs an Action (Block, Allow, Count, Captcha, Challenge)',
        'Add "Action": {"Block": {}}.',
      );
    if (rule.OverrideAction)
      c.error(
        'rule-action',
        [...path, 'OverrideAction'],
        'OverrideAction is only for rule group references; use Action',
      );
  }
  if (rule.Action) checkAction(c, rule.Action, [...path, 'Action'], options.bodyKeys);
  const metric = rule.VisibilityConfig.MetricName;
  if ((RESERVED_METRIC_NAMES as readonly string[]).includes(metric)) {
    c.error(
      'reserved-metric-name',
      [...path, 'VisibilityConfig', 'MetricName'],
      `"${metric}" is a reserved metric name`,
    );
  }
  const immunity = rule.ChallengeConfig?.ImmunityTimeProperty?.ImmunityTime;
  if (immunity !== undefined && immunity < LIMITS.challengeImmunityMin) {
    c.error(
      'challenge-immunity',
      [...path, 'ChallengeConfig', 'ImmunityTimeProperty', 'ImmunityTime'],
      `challenge immunity must be at least ${LIMITS.challengeImmunityMin} s`,
    );
  }
  rule.RuleLabels?.forEach((l, i) => checkLabel(c, l.Name, [...path, 'RuleLabels', i, 'Name']));
  return checkStatementTree(c, rule.Statement, [...path, 'Statement'], options.context);
}

export function checkRules(
  c: Collector,
  rules: readonly Rule[],
  path: JsonPath,
  options: RuleCheckOptions,
): void {
  const priorities = new Map<number, number>();
  const names = new Map<string, number>();
  let rateBased = 0;
  rules.forEach((rule, i) => {
    const p = [...path, i];
    rateBased += checkRule(c, rule, p, options);
    const samePriority = priorities.get(rule.Priority);
    if (samePriority !== undefined)
      c.error(
        'duplicate-rule-priority',
        [...p, 'Priority'],
        `priority ${rule.Priority} is also used by rule ${samePriority}`,
        'Give every rule a unique Priority.',
      );
    priorities.set(rule.Priority, i);
    const sameName = names.get(rule.Name);
    if (sameName !== undefined)
      c.error('duplicate-rule-name', [...p, 'Name'], `name "${rule.Name}" is also used by rule ${sameName}`);
    names.set(rule.Name, i);
  });
  const max =
    options.context === 'rule-group' ? LIMITS.rateBasedRulesPerRuleGroup : LIMITS.rateBasedRulesPerWebAcl;
  if (rateBased > max)
    c.error(
      'too-many-rate-based',
      path,
      `${rateBased} rate-based rules (at most ${max} per ${options.context === 'rule-group' ? 'rule group' : 'web ACL'})`,
    );
}

export function collector(): Collector {
  return new Collector();
}
export type { Collector };
