// The `validate` use case: a rule document in, every finding (schema, API constraints, capacity,
// lint) and the WCU total out. Shared by `wafgen validate`, `wafgen test` (which refuses a document
// AWS would refuse), the library and `POST /v1/rules/validate`, so they agree on every limit.
import { CAPACITY_ERRORS, checkCapacity } from '../waf/capacity.js';
import { decodeSearchStrings, type BlobEncoding } from '../waf/blobs.js';
import { LIMITS } from '../waf/constraints.js';
import { checkDocumentLimits } from '../waf/document-limits.js';
import { type Finding, hasErrors } from '../waf/findings.js';
import { lintDocument, type LintOptions } from './index.js';
import { detectKind, validateDocument, type DocumentKind, type WafDocument } from '../waf/schema.js';

export interface ValidateOptions extends LintOptions {
  /** How ByteMatch SearchStrings are written; `auto` = base64 in `aws wafv2 get-*` output, else text. */
  searchStringEncoding?: BlobEncoding | 'auto';
  /** Capacities of referenced rule groups (by ARN or `Vendor:Name`). */
  groupCapacities?: Record<string, number>;
  /** The document's name in an input-limit error (a file name; default none). */
  source?: string;
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

/**
 * Validate a rule document. Throws an InputLimitError (before reading it further) when the raw value
 * is over one of wafgen's input limits (`core/limits.ts`); anything else wrong is a finding.
 */
export function validateRuleDocument(input: unknown, options: ValidateOptions = {}): ValidationReport {
  checkDocumentLimits(input, options.source ? { source: options.source } : {});
  const findings: Finding[] = [];
  const detected = detectKind(input);
  const encoding = options.searchStringEncoding ?? 'auto';
  let value = input;
  if (encoding === 'base64' || (encoding === 'auto' && detected?.wrapped)) {
    const decoded = decodeSearchStrings(input);
    value = decoded.value;
    for (const p of decoded.problems) {
      const shown = JSON.stringify(p.value.slice(0, 40)) + (p.value.length > 40 ? '…' : '');
      if (p.problem === 'base64') {
        findings.push({
          code: 'search-string-base64',
          severity: 'error',
          path: p.path,
          message: `SearchString ${shown} is not valid base64 (AWS reads this document's SearchStrings as base64)`,
          fix:
            encoding === 'base64'
              ? 'Encode the bytes in standard base64 with = padding, or pass --search-string-encoding text.'
              : 'Encode the bytes in standard base64 with = padding, as aws wafv2 get-* prints them.',
        });
      } else if ((p.bytes ?? 0) > LIMITS.searchStringBytes) {
        findings.push({
          code: 'search-string-too-long',
          severity: 'error',
          path: p.path,
          message: `SearchString is ${p.bytes} bytes once decoded (AWS allows ${LIMITS.searchStringBytes})`,
          fix: 'Match a shorter distinctive token, or use a regex.',
        });
      } else {
        findings.push({
          code: 'search-string-encoding',
          severity: 'warning',
          path: p.path,
          message: `SearchString ${shown} decodes to bytes that are not UTF-8 text; kept as written (not evaluated as bytes)`,
          fix: 'Pass --search-string-encoding text if the document holds plain text.',
        });
      }
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
    const capacity = checkCapacity(
      doc,
      options.groupCapacities ? { groupCapacities: options.groupCapacities } : {},
    );
    wcu = capacity.wcu;
    rules = capacity.rules;
    findings.push(...capacity.findings.map(relocate));
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

/** Codes, besides the schema's, of the findings for which AWS refuses the document. */
const REFUSED = new Set([...CAPACITY_ERRORS, 'search-string-base64', 'search-string-too-long']);

/**
 * The errors, found after the schema parsed, for which AWS would refuse the document (its capacity,
 * a SearchString that is not base64 where base64 is expected): what `test` refuses to run, as
 * `validate` calls the document invalid. Lint errors are advice and do not stop a test.
 */
export function awsRefusals(report: ValidationReport): Finding[] {
  return report.findings.filter((f) => f.severity === 'error' && REFUSED.has(f.code));
}
