/**
 * @module What `wafgen validate` recognises besides plain WAFv2 JSON: every format wafgen itself
 * writes. Documents that hold rules (generate's `--json` report, Terraform JSON, CloudFormation) are
 * unwrapped into the rule documents inside, with a way to put each finding's path back into the
 * file as written; reports that hold no rules (test's and validate's `--json`, SARIF, JUnit XML) are
 * checked for shape and consistency (their counts agree with their entries) and summarised.
 */
import { z } from 'zod';

import type { ValidationResult } from '../../app/library.js';
import type { Finding } from '../../waf/findings.js';

export type DocumentFormat =
  | 'wafv2-json'
  | 'generate-report'
  | 'terraform'
  | 'cloudformation'
  | 'test-report'
  | 'validation-report'
  | 'sarif'
  | 'junit';

/** A rule document found inside the file, and how its finding paths read in the file as written. */
export interface Part {
  document: unknown;
  /** Where it sits, for people: `aws_wafv2_rule_group.x`. */
  where?: string;
  relocate: (path: string) => string;
  cveId?: string;
}

export type Recognised =
  | { format: DocumentFormat; label: string; parts: Part[]; problems: Finding[] }
  | { format: DocumentFormat; label: string; report: { problems: Finding[]; records: string } };

/** What the text output says it recognised. */
const FORMAT_LABELS: Record<DocumentFormat, string> = {
  'wafv2-json': 'WAFv2 JSON',
  'generate-report': 'wafgen generate --json report',
  terraform: 'Terraform JSON (wafgen generate --format terraform)',
  cloudformation: 'CloudFormation template (wafgen generate --format cloudformation)',
  'test-report': 'wafgen test --json report',
  'validation-report': 'wafgen validate --json report',
  sarif: 'SARIF 2.1.0 log written by wafgen',
  junit: 'JUnit XML report written by wafgen',
};

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const problem = (path: string, message: string, fix: string): Finding => ({
  code: 'report-shape',
  severity: 'error',
  path,
  message,
  fix,
});

const asIs = (path: string): string => path;

// --- documents that hold rules -----------------------------------------------------------------------

const isGenerateEntry = (v: unknown): v is Record<string, unknown> =>
  isObject(v) &&
  ((isObject(v.rule) && isObject(v.report)) || (v.outcome === 'no-rule' && typeof v.cveId === 'string'));

function cveOf(entry: Record<string, unknown>): string | undefined {
  const report = entry.report;
  return isObject(report) && typeof report.cveId === 'string' ? report.cveId : undefined;
}

function fromGenerateReport(value: unknown): Recognised | undefined {
  const entries = Array.isArray(value) ? value : [value];
  if (entries.length === 0 || !entries.every(isGenerateEntry)) return undefined;
  const parts: Part[] = [];
  entries.forEach((entry, i) => {
    if (!isObject(entry.rule)) return;
    const base = Array.isArray(value) ? `$[${i}].rule` : '$.rule';
    const cveId = cveOf(entry);
    parts.push({
      document: entry.rule,
      ...(Array.isArray(value) ? { where: `entry ${i}` } : {}),
      relocate: (path) => base + path.slice(1),
      ...(cveId ? { cveId } : {}),
    });
  });
  const noRule = entries.length - parts.length;
  return {
    format: 'generate-report',
    label: `${FORMAT_LABELS['generate-report']}, ${parts.length} rule${parts.length === 1 ? '' : 's'}${noRule ? `, ${noRule} CVE${noRule === 1 ? '' : 's'} with no rule` : ''}`,
    parts,
    problems: [],
  };
}

const VISIBILITY_KEYS: Record<string, string> = {
  cloudwatch_metrics_enabled: 'CloudWatchMetricsEnabled',
  metric_name: 'MetricName',
  sampled_requests_enabled: 'SampledRequestsEnabled',
};
const snake = (pascal: string): string => pascal.replace(/(?<=[a-z0-9])([A-Z])/g, '_$1').toLowerCase();

/** Terraform JSON: each `aws_wafv2_rule_group` with `rule_json`, read as the RuleGroup AWS gets. */
function fromTerraform(value: Record<string, unknown>): Recognised | undefined {
  const resources = value.resource;
  if (!isObject(resources) || !isObject(resources.aws_wafv2_rule_group)) return undefined;
  const parts: Part[] = [];
  const problems: Finding[] = [];
  for (const [id, r] of Object.entries(resources.aws_wafv2_rule_group)) {
    const base = `$.resource.aws_wafv2_rule_group.${id}`;
    if (!isObject(r)) {
      problems.push(problem(base, 'is not an object', 'Write each resource as an object of its arguments.'));
      continue;
    }
    let rules: unknown = [];
    if (typeof r.rule_json === 'string') {
      try {
        rules = JSON.parse(r.rule_json);
      } catch {
        problems.push(
          problem(
            `${base}.rule_json`,
            'is not valid JSON',
            'rule_json holds the rules as a JSON array string.',
          ),
        );
        continue;
      }
    } else if (r.rule !== undefined) {
      problems.push(
        problem(
          `${base}.rule`,
          'rules written as Terraform rule blocks are not read',
          'Give the rules as rule_json (a JSON array of WAFv2 Rules), as wafgen writes them.',
        ),
      );
      continue;
    }
    const vis = isObject(r.visibility_config) ? r.visibility_config : {};
    const group: Record<string, unknown> = {
      Name: r.name,
      Capacity: r.capacity,
      ...(r.description !== undefined ? { Description: r.description } : {}),
      Rules: rules,
      VisibilityConfig: Object.fromEntries(Object.entries(vis).map(([k, v]) => [VISIBILITY_KEYS[k] ?? k, v])),
    };
    parts.push({
      document: group,
      where: `aws_wafv2_rule_group.${id}`,
      relocate: (path) => {
        const m = /^\$\.(\w+)(.*)$/.exec(path);
        if (!m) return base;
        const [, key, rest] = m as unknown as [string, string, string];
        if (key === 'Rules') return `${base}.rule_json $${rest}`;
        if (key === 'VisibilityConfig') {
          const sub = /^\.(\w+)(.*)$/.exec(rest);
          return sub ? `${base}.visibility_config.${snake(sub[1]!)}${sub[2]}` : `${base}.visibility_config`;
        }
        return `${base}.${snake(key)}${rest}`;
      },
    });
  }
  const n = parts.length + problems.length;
  return {
    format: 'terraform',
    label: `${FORMAT_LABELS.terraform}, ${n} aws_wafv2_rule_group`,
    parts,
    problems,
  };
}

const CFN_TYPES: Record<string, string> = {
  'AWS::WAFv2::RuleGroup': 'RuleGroup',
  'AWS::WAFv2::WebACL': 'WebACL',
};

/** A CloudFormation template: each `AWS::WAFv2::RuleGroup` / `WebACL` resource's Properties. */
function fromCloudFormation(value: Record<string, unknown>): Recognised | undefined {
  if (!isObject(value.Resources)) return undefined;
  const wafResources = Object.entries(value.Resources).filter(
    ([, r]) => isObject(r) && typeof r.Type === 'string' && r.Type in CFN_TYPES,
  );
  if (wafResources.length === 0 && value.AWSTemplateFormatVersion === undefined) return undefined;
  const parts: Part[] = [];
  const problems: Finding[] = [];
  for (const [id, r] of wafResources) {
    const base = `$.Resources.${id}.Properties`;
    const props = (r as Record<string, unknown>).Properties;
    if (!isObject(props)) {
      problems.push(problem(base, 'is missing', 'Give the resource its Properties.'));
      continue;
    }
    // Scope and Tags are CloudFormation's, not part of the WAFv2 document itself.
    const { Scope: _scope, Tags: _tags, ...document } = props;
    parts.push({
      document,
      where: `${id} (${(r as { Type: string }).Type})`,
      relocate: (path) => base + path.slice(1),
    });
  }
  if (wafResources.length === 0)
    problems.push(
      problem(
        '$.Resources',
        'holds no AWS::WAFv2::RuleGroup or AWS::WAFv2::WebACL resource',
        'Validate a template with a WAFv2 rule group or web ACL, as wafgen generate --format cloudformation writes.',
      ),
    );
  return {
    format: 'cloudformation',
    label: `${FORMAT_LABELS.cloudformation}, ${wafResources.length} WAFv2 resource${wafResources.length === 1 ? '' : 's'}`,
    parts,
    problems,
  };
}

// --- reports that hold no rules ----------------------------------------------------------------------

const count = z.number().int().min(0);

const TestReportSchema = z.object({
  results: z.array(
    z
      .object({
        id: z.string(),
        expect: z.enum(['block', 'allow']).optional(),
        matched: z.boolean(),
        action: z.string(),
        terminatingRule: z.string(),
        mismatch: z.boolean(),
        uncertain: z.boolean(),
      })
      .loose(),
  ),
  summary: z.object({
    total: count,
    matched: count,
    allowed: count,
    mismatches: count,
    uncertain: count,
    variants: count,
  }),
  parseErrors: z.array(z.object({ file: z.string(), line: z.number(), message: z.string() })),
});

const ValidationReportSchema = z.object({
  file: z.string(),
  valid: z.boolean(),
  kind: z.string().optional(),
  format: z.string().optional(),
  rules: count,
  wcu: count.optional(),
  findings: z.array(
    z
      .object({
        code: z.string(),
        severity: z.enum(['error', 'warning']),
        path: z.string(),
        message: z.string(),
      })
      .loose(),
  ),
  summary: z.object({ errors: count, warnings: count }),
});

const SarifSchema = z.object({
  version: z.literal('2.1.0'),
  runs: z
    .array(
      z
        .object({
          tool: z.object({ driver: z.object({ name: z.literal('wafgen') }).loose() }),
          results: z.array(z.object({ ruleId: z.string(), level: z.string() }).loose()),
        })
        .loose(),
    )
    .min(1),
});

function shapeProblems(error: z.ZodError, what: string): Finding[] {
  return error.issues
    .slice(0, 20)
    .map((i) =>
      problem(
        '$' + i.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join(''),
        i.message,
        `Give validate the ${what} as wafgen wrote it.`,
      ),
    );
}

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

function fromTestReport(value: Record<string, unknown>): Recognised | undefined {
  if (!('results' in value && 'summary' in value)) return undefined;
  const parsed = TestReportSchema.safeParse(value);
  if (!parsed.success)
    return {
      format: 'test-report',
      label: FORMAT_LABELS['test-report'],
      report: { problems: shapeProblems(parsed.error, 'test report'), records: 'unreadable' },
    };
  const { results, summary } = parsed.data;
  const problems: Finding[] = [];
  const agree = (field: keyof typeof summary, actual: number) => {
    if (summary[field] !== actual)
      problems.push(
        problem(
          `$.summary.${field}`,
          `says ${summary[field]}, but the results hold ${actual}`,
          'The summary no longer matches its results: the report was edited; run wafgen test again.',
        ),
      );
  };
  agree('total', results.length);
  agree('matched', results.filter((r) => r.matched).length);
  agree('mismatches', results.filter((r) => r.mismatch).length);
  return {
    format: 'test-report',
    label: FORMAT_LABELS['test-report'],
    report: {
      problems,
      records: `${plural(summary.total, 'request')}, ${plural(summary.mismatches, 'expectation mismatch', 'expectation mismatches')}, ${plural(parsed.data.parseErrors.length, 'unreadable entry', 'unreadable entries')}`,
    },
  };
}

function fromValidationReport(value: Record<string, unknown>): Recognised | undefined {
  if (!('findings' in value && 'summary' in value && 'valid' in value)) return undefined;
  const parsed = ValidationReportSchema.safeParse(value);
  if (!parsed.success)
    return {
      format: 'validation-report',
      label: FORMAT_LABELS['validation-report'],
      report: { problems: shapeProblems(parsed.error, 'validation report'), records: 'unreadable' },
    };
  const r = parsed.data;
  const errors = r.findings.filter((f) => f.severity === 'error').length;
  const problems: Finding[] = [];
  if (r.summary.errors !== errors || r.summary.warnings !== r.findings.length - errors)
    problems.push(
      problem(
        '$.summary',
        'does not count the findings listed',
        'The report was edited; run wafgen validate again.',
      ),
    );
  if (r.valid !== (errors === 0))
    problems.push(
      problem(
        '$.valid',
        `says ${r.valid} with ${plural(errors, 'error')} listed`,
        'The report was edited; run wafgen validate again.',
      ),
    );
  return {
    format: 'validation-report',
    label: FORMAT_LABELS['validation-report'],
    report: {
      problems,
      records: `${r.file}: ${r.kind ?? 'document'} ${r.valid ? 'valid' : 'invalid'}, ${plural(r.summary.errors, 'error')}, ${plural(r.summary.warnings, 'warning')}`,
    },
  };
}

function fromSarif(value: Record<string, unknown>): Recognised | undefined {
  if (value.version !== '2.1.0' || !Array.isArray(value.runs)) return undefined;
  const parsed = SarifSchema.safeParse(value);
  if (!parsed.success)
    return {
      format: 'sarif',
      label: FORMAT_LABELS.sarif,
      report: { problems: shapeProblems(parsed.error, 'SARIF log'), records: 'unreadable' },
    };
  const results = parsed.data.runs.flatMap((r) => r.results);
  const errors = results.filter((r) => r.level === 'error').length;
  return {
    format: 'sarif',
    label: FORMAT_LABELS.sarif,
    report: {
      problems: [],
      records: `${plural(results.length, 'result')}, ${plural(errors, 'error')}`,
    },
  };
}

/** Test suites of a JUnit document, as fast-xml-parser reads them (attributes prefixed `@_`). */
async function fromJunit(text: string): Promise<Recognised> {
  // The XML library loads only for XML: every other validate runs without it.
  const { XMLParser } = await import('fast-xml-parser');
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '@_',
    // No entity expansion beyond XML's own five: a report is data, never a template.
    processEntities: false,
    isArray: (name) => name === 'testsuite' || name === 'testcase',
  });
  let doc: Record<string, unknown>;
  try {
    doc = parser.parse(text, true) as Record<string, unknown>;
  } catch (e) {
    return {
      format: 'junit',
      label: FORMAT_LABELS.junit,
      report: {
        problems: [
          problem(
            '$',
            `not well-formed XML: ${e instanceof Error ? e.message : String(e)}`,
            'Give validate the JUnit XML as wafgen wrote it.',
          ),
        ],
        records: 'unreadable',
      },
    };
  }
  const root = isObject(doc.testsuites) ? doc.testsuites : undefined;
  const suites = root && Array.isArray(root.testsuite) ? (root.testsuite as unknown[]) : [];
  if (!root || root['@_name'] !== 'wafgen')
    return {
      format: 'junit',
      label: FORMAT_LABELS.junit,
      report: {
        problems: [
          problem(
            '$',
            'is XML but not a <testsuites name="wafgen"> report',
            'validate reads WAFv2 JSON and what wafgen writes.',
          ),
        ],
        records: 'unreadable',
      },
    };
  const problems: Finding[] = [];
  let tests = 0;
  let failures = 0;
  suites.forEach((s, i) => {
    const suite = isObject(s) ? s : {};
    const cases = Array.isArray(suite.testcase) ? (suite.testcase as unknown[]).filter(isObject) : [];
    const failed = cases.filter((c) => c.failure !== undefined).length;
    tests += cases.length;
    failures += failed;
    if (Number(suite['@_tests']) !== cases.length || Number(suite['@_failures']) !== failed)
      problems.push(
        problem(
          `testsuite[${i}]`,
          `says ${String(suite['@_tests'])} tests and ${String(suite['@_failures'])} failures, holds ${cases.length} and ${failed}`,
          'The report was edited; run the wafgen command again.',
        ),
      );
  });
  return {
    format: 'junit',
    label: FORMAT_LABELS.junit,
    report: { problems, records: `${plural(tests, 'test case')}, ${plural(failures, 'failure')}` },
  };
}

/**
 * What the file is. `text` is the file as read; `parse` reads it as JSON (with wafgen's limits and
 * one-line errors). XML is read only when the text starts with `<`.
 */
export async function recognise(text: string, parse: (text: string) => unknown): Promise<Recognised> {
  if (text.trimStart().startsWith('<')) return fromJunit(text);
  const value = parse(text);
  const found =
    fromGenerateReport(value) ??
    (isObject(value)
      ? (fromTerraform(value) ??
        fromCloudFormation(value) ??
        fromTestReport(value) ??
        fromValidationReport(value) ??
        fromSarif(value))
      : undefined);
  return (
    found ?? {
      format: 'wafv2-json',
      label: FORMAT_LABELS['wafv2-json'],
      parts: [{ document: value, relocate: asIs }],
      problems: [],
    }
  );
}

/**
 * One result for the whole file: the parts' results merged (paths put back into the file as
 * written), or a report's problems. `validatePart` is the library's validateRules.
 */
export function validateRecognised(
  found: Recognised,
  validatePart: (part: Part) => ValidationResult,
): ValidationResult & { format: DocumentFormat; recognised: string; records?: string } {
  const head = { format: found.format, recognised: found.label };
  if ('report' in found) {
    const errors = found.report.problems.length;
    return {
      ...head,
      valid: errors === 0,
      rules: 0,
      findings: found.report.problems,
      summary: { errors, warnings: 0 },
      records: found.report.records,
    };
  }
  const findings: Finding[] = [...found.problems];
  let rules = 0;
  let wcu: number | undefined = found.parts.length > 0 ? 0 : undefined;
  let kind: ValidationResult['kind'];
  for (const part of found.parts) {
    const r = validatePart(part);
    kind = found.parts.length === 1 ? r.kind : kind;
    rules += r.rules;
    wcu = wcu !== undefined && r.wcu !== undefined ? wcu + r.wcu : undefined;
    const prefix = part.where && found.parts.length > 1 ? `${part.where}: ` : '';
    findings.push(
      ...r.findings.map((f) => ({ ...f, path: part.relocate(f.path), message: prefix + f.message })),
    );
  }
  const errors = findings.filter((f) => f.severity === 'error').length;
  return {
    ...head,
    valid: errors === 0,
    ...(kind ? { kind } : {}),
    rules,
    ...(wcu !== undefined ? { wcu } : {}),
    findings,
    summary: { errors, warnings: findings.length - errors },
  };
}
