// The WAFv2 rule documents wafgen reads and writes: a Rule, a list of Rules, a RuleGroup, a WebACL,
// and the output of `aws wafv2 get-web-acl` / `get-rule-group`. Shapes come from the API model
// (model/shapes.generated.ts); the constraints the model does not carry come from constraints.ts and
// are attached here as Zod refinements, so one schema says everything AWS would refuse.
import { z } from 'zod';

import {
  GetRuleGroupResponseSchema,
  GetWebACLResponseSchema,
  RuleGroupSchema as RuleGroupShape,
  RuleSchema as RuleShape,
  WebACLSchema as WebACLShape,
  type Rule,
  type RuleGroup,
  type WebACL,
} from './model/shapes.generated.js';
import { checkRule, checkRules, collector, LIMITS, type Collector } from './constraints.js';
import { formatPath, type Finding, type JsonPath } from './findings.js';

export type * from './model/shapes.generated.js';

// The semantic checks assume a well-formed tree, so they run only once the shape has parsed cleanly.
const whenShapeIsValid = { when: (payload: z.core.ParsePayload) => payload.issues.length === 0 };

function report(c: Collector, ctx: z.core.$RefinementCtx): void {
  for (const f of c.findings) {
    ctx.addIssue({ code: 'custom', message: f.message, path: [], params: { finding: f } });
  }
}

export const RuleSchema = RuleShape.superRefine((rule, ctx) => {
  const c = collector();
  checkRule(c, rule, [], { context: 'standalone' });
  report(c, ctx);
}, whenShapeIsValid);

export const RulesSchema = z.array(RuleShape).superRefine((rules, ctx) => {
  const c = collector();
  checkRules(c, rules, [], { context: 'standalone' });
  report(c, ctx);
}, whenShapeIsValid);

function checkRuleGroup(c: Collector, group: RuleGroup, path: JsonPath): void {
  const bodyKeys = new Set(Object.keys(group.CustomResponseBodies ?? {}));
  checkRules(c, group.Rules ?? [], [...path, 'Rules'], { context: 'rule-group', bodyKeys });
  if (group.Capacity > LIMITS.maxCapacity) {
    c.error(
      'capacity-limit',
      [...path, 'Capacity'],
      `rule group capacity ${group.Capacity} exceeds the maximum ${LIMITS.maxCapacity}`,
    );
  }
}

function checkWebAcl(c: Collector, acl: WebACL, path: JsonPath): void {
  const bodyKeys = new Set(Object.keys(acl.CustomResponseBodies ?? {}));
  checkRules(c, acl.Rules ?? [], [...path, 'Rules'], { context: 'web-acl', bodyKeys });
}

export const RuleGroupSchema = RuleGroupShape.superRefine((group, ctx) => {
  const c = collector();
  checkRuleGroup(c, group, []);
  report(c, ctx);
}, whenShapeIsValid);

export const WebACLSchema = WebACLShape.superRefine((acl, ctx) => {
  const c = collector();
  checkWebAcl(c, acl, []);
  report(c, ctx);
}, whenShapeIsValid);

export type DocumentKind = 'rule' | 'rules' | 'rule-group' | 'web-acl';

export type WafDocument =
  | { kind: 'rule'; rule: Rule }
  | { kind: 'rules'; rules: Rule[] }
  | { kind: 'rule-group'; ruleGroup: RuleGroup; lockToken?: string }
  | { kind: 'web-acl'; webAcl: WebACL; lockToken?: string };

export interface DocumentValidation {
  kind: DocumentKind | undefined;
  document: WafDocument | undefined;
  findings: Finding[];
}

/** Guess what a parsed JSON value is meant to be, from its top-level keys. */
export function detectKind(
  value: unknown,
): { kind: DocumentKind; wrapped?: 'WebACL' | 'RuleGroup' } | undefined {
  if (Array.isArray(value)) return { kind: 'rules' };
  if (value === null || typeof value !== 'object') return undefined;
  const o = value as Record<string, unknown>;
  if (o.WebACL !== undefined && typeof o.WebACL === 'object') return { kind: 'web-acl', wrapped: 'WebACL' };
  if (o.RuleGroup !== undefined && typeof o.RuleGroup === 'object')
    return { kind: 'rule-group', wrapped: 'RuleGroup' };
  if ('DefaultAction' in o) return { kind: 'web-acl' };
  if ('Capacity' in o || ('Rules' in o && !('Statement' in o))) return { kind: 'rule-group' };
  if (['Statement', 'Priority', 'Action', 'OverrideAction', 'Name', 'VisibilityConfig'].some((k) => k in o)) {
    return { kind: 'rule' };
  }
  return undefined;
}

/** Turn Zod issues into findings; refinements carry their own finding (code, path, fix). */
export function findingsFromZod(error: z.ZodError, prefix: JsonPath = []): Finding[] {
  const out: Finding[] = [];
  for (const issue of error.issues) {
    const path = [...prefix, ...(issue.path as (string | number)[])];
    const finding = (issue as { params?: { finding?: Finding } }).params?.finding;
    if (finding) {
      // The refinement's path is relative to the document it ran on.
      const inner = finding.path === '$' ? '' : finding.path.slice(1);
      out.push({ ...finding, path: formatPath(path) + inner });
      continue;
    }
    out.push({ code: 'schema', severity: 'error', path: formatPath(path), message: describeIssue(issue) });
  }
  return out;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'unrecognized_keys':
      return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    case 'invalid_type':
      return issue.input === undefined
        ? `required field is missing (expected ${issue.expected})`
        : `expected ${issue.expected}`;
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    default:
      return issue.message;
  }
}

/** Validate any supported document: schema, then the constraints the model does not carry. */
export function validateDocument(value: unknown): DocumentValidation {
  const detected = detectKind(value);
  if (!detected) {
    return {
      kind: undefined,
      document: undefined,
      findings: [
        {
          code: 'unknown-document',
          severity: 'error',
          path: '$',
          message: 'not a WAFv2 Rule, list of Rules, RuleGroup or WebACL',
          fix: 'A Rule has Name, Priority, Statement, Action and VisibilityConfig.',
        },
      ],
    };
  }
  switch (detected.kind) {
    case 'rule': {
      const r = RuleSchema.safeParse(value);
      return r.success
        ? { kind: 'rule', document: { kind: 'rule', rule: r.data }, findings: [] }
        : { kind: 'rule', document: undefined, findings: findingsFromZod(r.error) };
    }
    case 'rules': {
      const r = RulesSchema.safeParse(value);
      return r.success
        ? { kind: 'rules', document: { kind: 'rules', rules: r.data }, findings: [] }
        : { kind: 'rules', document: undefined, findings: findingsFromZod(r.error) };
    }
    case 'rule-group': {
      if (detected.wrapped) {
        const envelope = GetRuleGroupResponseSchema.safeParse(value);
        if (!envelope.success)
          return { kind: 'rule-group', document: undefined, findings: findingsFromZod(envelope.error) };
      }
      const inner = detected.wrapped ? (value as { RuleGroup: unknown }).RuleGroup : value;
      const r = RuleGroupSchema.safeParse(inner);
      const lockToken = detected.wrapped ? (value as { LockToken?: string }).LockToken : undefined;
      return r.success
        ? {
            kind: 'rule-group',
            document: { kind: 'rule-group', ruleGroup: r.data, ...(lockToken ? { lockToken } : {}) },
            findings: [],
          }
        : {
            kind: 'rule-group',
            document: undefined,
            findings: findingsFromZod(r.error, detected.wrapped ? ['RuleGroup'] : []),
          };
    }
    case 'web-acl': {
      if (detected.wrapped) {
        const envelope = GetWebACLResponseSchema.safeParse(value);
        if (!envelope.success)
          return { kind: 'web-acl', document: undefined, findings: findingsFromZod(envelope.error) };
      }
      const inner = detected.wrapped ? (value as { WebACL: unknown }).WebACL : value;
      const r = WebACLSchema.safeParse(inner);
      const lockToken = detected.wrapped ? (value as { LockToken?: string }).LockToken : undefined;
      return r.success
        ? {
            kind: 'web-acl',
            document: { kind: 'web-acl', webAcl: r.data, ...(lockToken ? { lockToken } : {}) },
            findings: [],
          }
        : {
            kind: 'web-acl',
            document: undefined,
            findings: findingsFromZod(r.error, detected.wrapped ? ['WebACL'] : []),
          };
    }
  }
}

/** The rules of any document, in document order. */
export function rulesOf(doc: WafDocument): Rule[] {
  switch (doc.kind) {
    case 'rule':
      return [doc.rule];
    case 'rules':
      return doc.rules;
    case 'rule-group':
      return doc.ruleGroup.Rules ?? [];
    case 'web-acl':
      return doc.webAcl.Rules ?? [];
  }
}
