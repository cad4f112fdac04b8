// The `validate` use case: a rule document in, every finding (schema, API constraints, capacity,
// lint) and the WCU total out. Shared by `wafgen validate` and `POST /v1/rules/validate`.
import { documentCapacity, MAX_WCU, WEB_ACL_INCLUDED_WCU } from '../waf/capacity.js';
import { decodeSearchStrings, type BlobEncoding } from '../waf/blobs.js';
import { type Finding, hasErrors } from '../waf/findings.js';
import { lintDocument, type LintOptions } from './index.js';
import { detectKind, validateDocument, type DocumentKind, type WafDocument } from '../waf/schema.js';

export interface ValidateOptions extends LintOptions {
  /** How ByteMatch SearchStrings are written; `auto` = base64 in `aws wafv2 get-*` output, else text. */
  searchStringEncoding?: BlobEncoding | 'auto';
  /** Capacities of referenced rule groups (by ARN or `Vendor:Name`). */
  groupCapacities?: Record<string, number>;
}

export interface ValidationReport {
  valid: boolean;
  kind: DocumentKind | undefined;
  /** Rules in the document (0 when it could not be read as one). */
  rules: number;
  wcu: number | undefined;
  findings: Finding[];
  summary: { errors: number; warnings: number };
  document: WafDocument | undefined;
}

export function validateRuleDocument(input: unknown, options: ValidateOptions = {}): ValidationReport {
  const findings: Finding[] = [];
  const detected = detectKind(input);
  const encoding = options.searchStringEncoding ?? 'auto';
  let value = input;
  if (encoding === 'base64' || (encoding === 'auto' && detected?.wrapped)) {
    const decoded = decodeSearchStrings(input);
    value = decoded.value;
    for (const s of decoded.undecodable) {
      findings.push({
        code: 'search-string-encoding',
        severity: 'warning',
        path: '$',
        message: `SearchString ${JSON.stringify(s.slice(0, 40))} is not base64 UTF-8 text; kept as written`,
        fix: 'Pass --search-string-encoding text if the document holds plain text.',
      });
    }
  }
  const result = validateDocument(value);
  findings.push(...result.findings);
  let wcu: number | undefined;
  let rules = 0;
  const doc = result.document;
  if (doc) {
    const prefix = detected?.wrapped ? `$.${detected.wrapped}` : '$';
    const relocate = (f: Finding): Finding => ({ ...f, path: prefix + f.path.slice(1) });
    const capacity = documentCapacity(
      doc,
      options.groupCapacities ? { groupCapacities: options.groupCapacities } : {},
    );
    wcu = capacity.wcu;
    rules =
      doc.kind === 'rule'
        ? 1
        : doc.kind === 'rules'
          ? doc.rules.length
          : ((doc.kind === 'rule-group' ? doc.ruleGroup.Rules : doc.webAcl.Rules) ?? []).length;
    for (const path of capacity.unknown) {
      findings.push(
        relocate({
          code: 'capacity-unknown',
          severity: 'warning',
          path,
          message: 'capacity of the referenced rule group is unknown; the WCU total leaves it out',
        }),
      );
    }
    if (doc.kind === 'rule-group' && wcu > doc.ruleGroup.Capacity) {
      findings.push(
        relocate({
          code: 'capacity-exceeded',
          severity: 'error',
          path: '$.Capacity',
          message: `rules need ${wcu} WCU but the rule group's Capacity is ${doc.ruleGroup.Capacity}`,
          fix: 'Capacity is fixed at creation: create a new rule group with enough capacity, or simplify the rules.',
        }),
      );
    }
    if (doc.kind === 'web-acl' && wcu > MAX_WCU) {
      findings.push(
        relocate({
          code: 'capacity-exceeded',
          severity: 'error',
          path: '$.Rules',
          message: `rules need ${wcu} WCU; a web ACL allows at most ${MAX_WCU}`,
        }),
      );
    } else if (doc.kind === 'web-acl' && wcu > WEB_ACL_INCLUDED_WCU) {
      findings.push(
        relocate({
          code: 'capacity-billing',
          severity: 'warning',
          path: '$.Rules',
          message: `rules need ${wcu} WCU; above ${WEB_ACL_INCLUDED_WCU} AWS bills extra per request`,
        }),
      );
    }
    findings.push(...lintDocument(doc, options).map(relocate));
  }
  const errors = findings.filter((f) => f.severity === 'error').length;
  return {
    valid: !hasErrors(findings),
    kind: result.kind,
    rules,
    wcu,
    findings,
    summary: { errors, warnings: findings.length - errors },
    document: doc,
  };
}
