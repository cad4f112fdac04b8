/**
 * @module JUnit XML reports of `wafgen test` (a test case per request, a failure per unmet
 * expectation) and `wafgen validate` (a test case per document, a failure when it is invalid), for
 * CI test reporters. XML through fast-xml-parser's builder (escaping); every text that came from
 * input is shown escaped first (io.ts, printable), which also keeps out the control characters XML
 * 1.0 cannot carry at all.
 */
import { XMLBuilder } from 'fast-xml-parser';

import type { TestRulesResult, ValidationResult } from '../../app/library.js';
import { printable } from '../io.js';

const p = (text: string): string => printable(text);

type Node = Record<string, unknown>;

function build(suite: Node): string {
  const builder = new XMLBuilder({
    ignoreAttributes: false,
    attributeNamePrefix: '@_',
    format: true,
    suppressEmptyNode: true,
  });
  const tests = Number(suite['@_tests']);
  const failures = Number(suite['@_failures']);
  const errors = Number(suite['@_errors']);
  const skipped = Number(suite['@_skipped'] ?? 0);
  return builder.build({
    '?xml': { '@_version': '1.0', '@_encoding': 'UTF-8' },
    testsuites: {
      '@_name': 'wafgen',
      '@_tests': tests,
      '@_failures': failures,
      '@_errors': errors,
      '@_skipped': skipped,
      testsuite: [suite],
    },
  }) as string;
}

/** `wafgen validate FILE` as one test case: failed when the document is invalid, its errors listed. */
export function validationJunit(file: string, report: ValidationResult & { format?: string }): string {
  const name = p(file === '-' ? 'stdin' : file);
  const errors = report.findings.filter((f) => f.severity === 'error');
  const warnings = report.findings.filter((f) => f.severity !== 'error');
  const line = (f: ValidationResult['findings'][number]) =>
    `${f.severity} ${f.code} ${p(f.path)}: ${p(f.message)}${f.fix ? ` (fix: ${p(f.fix)})` : ''}`;
  const testcase: Node = {
    '@_classname': 'wafgen.validate',
    '@_name': `${name}: ${report.kind ?? 'document'}${report.format ? ` (${report.format})` : ''}`,
    ...(errors.length > 0
      ? {
          failure: {
            '@_message': `${errors.length} error${errors.length === 1 ? '' : 's'}, first: ${p(errors[0]!.path)} ${p(errors[0]!.message)}`,
            '@_type': errors[0]!.code,
            '#text': errors.map(line).join('\n'),
          },
        }
      : {}),
    ...(warnings.length > 0 ? { 'system-out': warnings.map(line).join('\n') } : {}),
  };
  return build({
    '@_name': `wafgen validate ${name}`,
    '@_tests': 1,
    '@_failures': errors.length > 0 ? 1 : 0,
    '@_errors': 0,
    testcase: [testcase],
  });
}

/**
 * `wafgen test` as a suite: a test case per request (its id; classname by expectation), a failure
 * per unmet expectation, skipped when the request sets no expectation, and an error case per
 * request entry that could not be read.
 */
export function testJunit(ruleFile: string, outcome: TestRulesResult): string {
  const cases: Node[] = [];
  let failures = 0;
  let skipped = 0;
  for (const r of outcome.results) {
    const by = r.terminatingRule === 'Default_Action' ? 'the default action' : `rule ${p(r.terminatingRule)}`;
    const testcase: Node = {
      '@_classname': `wafgen.test.${r.expect ?? 'none'}${r.variantOf ? '.variant' : ''}`,
      '@_name': p(r.id),
    };
    if (r.mismatch) {
      failures++;
      testcase.failure = {
        '@_message': `expected ${r.expect}, got ${r.action} (decided by ${by})`,
        '@_type': r.expect === 'block' ? 'missed-exploit' : 'false-positive',
      };
    } else if (r.expect === undefined) {
      skipped++;
      testcase.skipped = { '@_message': `no expectation set; got ${r.action} (decided by ${by})` };
    }
    if (r.uncertain) testcase['system-out'] = 'uncertain: a statement could not be judged locally';
    cases.push(testcase);
  }
  for (const e of outcome.parseErrors) {
    cases.push({
      '@_classname': 'wafgen.test.unreadable',
      '@_name': `${p(e.file)}:${e.line}`,
      error: { '@_message': p(e.message), '@_type': 'unreadable-request' },
    });
  }
  return build({
    '@_name': `wafgen test ${p(ruleFile === '-' ? 'stdin' : ruleFile)}`,
    '@_tests': cases.length,
    '@_failures': failures,
    '@_errors': outcome.parseErrors.length,
    '@_skipped': skipped,
    testcase: cases,
  });
}
