/**
 * @module SARIF 2.1.0 logs of `wafgen validate` and `wafgen test`, for code-scanning dashboards
 * (GitHub's upload-sarif among them). One run per command; every problem is a result whose `ruleId`
 * is a stable code (a lint code, `missed-exploit`, `false-positive`...), so dashboards group and
 * track them across commits. The log is checked against the official schema in test/cli/formats.test.ts.
 */
import type { TestRulesResult, ValidationResult } from '../../app/library.js';
import { VERSION } from '../../core/version.js';
import { artifactUri } from './index.js';

const SCHEMA = 'https://json.schemastore.org/sarif-2.1.0.json';

type Level = 'error' | 'warning' | 'note';

interface SarifRule {
  id: string;
  shortDescription: { text: string };
  help?: { text: string };
  defaultConfiguration: { level: Level };
}

interface SarifResult {
  ruleId: string;
  level: Level;
  message: { text: string };
  locations: {
    physicalLocation: { artifactLocation: { uri: string }; region?: { startLine: number } };
    logicalLocations?: { fullyQualifiedName: string; kind?: string }[];
  }[];
  properties?: Record<string, unknown>;
}

/**
 * One run. Its automationDetails id (`wafgen-validate/rules/a.json/`) gives each command and file
 * its own code-scanning category, so several logs can be uploaded together without replacing each
 * other's alerts.
 */
function log(
  category: string,
  rules: SarifRule[],
  results: SarifResult[],
  properties: Record<string, unknown>,
): object {
  return {
    $schema: SCHEMA,
    version: '2.1.0',
    runs: [
      {
        automationDetails: { id: `${category}/` },
        tool: { driver: { name: 'wafgen', version: VERSION, semanticVersion: VERSION, rules } },
        invocations: [{ executionSuccessful: true }],
        results,
        properties,
      },
    ],
  };
}

/** The findings of `wafgen validate FILE`: one result per finding, located at the file and its JSON path. */
export function validationSarif(file: string, report: ValidationResult & { format?: string }): object {
  const uri = artifactUri(file);
  const rules = new Map<string, SarifRule>();
  const results: SarifResult[] = [];
  for (const f of report.findings) {
    const level: Level = f.severity === 'error' ? 'error' : 'warning';
    const known = rules.get(f.code);
    if (!known)
      rules.set(f.code, {
        id: f.code,
        shortDescription: { text: f.message },
        ...(f.fix ? { help: { text: f.fix } } : {}),
        defaultConfiguration: { level },
      });
    results.push({
      ruleId: f.code,
      level,
      message: { text: `${f.message} (at ${f.path})${f.fix ? `. Fix: ${f.fix}` : ''}` },
      locations: [
        {
          physicalLocation: { artifactLocation: { uri } },
          logicalLocations: [{ fullyQualifiedName: f.path, kind: 'member' }],
        },
      ],
    });
  }
  return log(`wafgen-validate/${uri}`, [...rules.values()], results, {
    valid: report.valid,
    ...(report.kind ? { kind: report.kind } : {}),
    ...(report.format ? { format: report.format } : {}),
    rules: report.rules,
    ...(report.wcu !== undefined ? { wcu: report.wcu } : {}),
    summary: report.summary,
  });
}

const TEST_RULES: SarifRule[] = [
  {
    id: 'missed-exploit',
    shortDescription: { text: 'A request expected to be blocked got through' },
    help: { text: 'Widen the rule to match the request, or fix the request’s "expect".' },
    defaultConfiguration: { level: 'error' },
  },
  {
    id: 'false-positive',
    shortDescription: { text: 'A request expected to be allowed was blocked' },
    help: { text: 'Narrow the rule so that ordinary traffic passes, or fix the request’s "expect".' },
    defaultConfiguration: { level: 'error' },
  },
  {
    id: 'uncertain',
    shortDescription: { text: 'A statement could not be judged from one request' },
    help: {
      text: 'Supply referenced sets with --ip-set / --pattern-set; rate-based and managed rules are judged by AWS.',
    },
    defaultConfiguration: { level: 'note' },
  },
  {
    id: 'unreadable-request',
    shortDescription: { text: 'A request entry could not be read' },
    help: { text: 'Fix the entry at the line given, or pass --skip-invalid.' },
    defaultConfiguration: { level: 'error' },
  },
];

/**
 * The outcome of `wafgen test --rule RULE`: a result per unmet expectation (located at the rule
 * file, the request id as its logical location), per uncertain decision, and per unreadable request
 * entry (at its file and line). Requests that met their expectation are counted in the properties.
 */
export function testSarif(ruleFile: string, outcome: TestRulesResult): object {
  const uri = artifactUri(ruleFile);
  const results: SarifResult[] = [];
  for (const r of outcome.results) {
    const by = r.terminatingRule === 'Default_Action' ? 'the default action' : `rule ${r.terminatingRule}`;
    const variant = r.variantOf ? ` (evasion variant of ${r.variantOf}: ${r.technique ?? 'variant'})` : '';
    const where = {
      physicalLocation: { artifactLocation: { uri } },
      logicalLocations: [{ fullyQualifiedName: r.id, kind: 'object' }],
    };
    if (r.mismatch) {
      results.push({
        ruleId: r.expect === 'block' ? 'missed-exploit' : 'false-positive',
        level: 'error',
        message: {
          text: `request ${r.id}${variant}: expected ${r.expect}, got ${r.action} (decided by ${by})`,
        },
        locations: [where],
        properties: { requestId: r.id, expect: r.expect, action: r.action },
      });
    } else if (r.uncertain) {
      results.push({
        ruleId: 'uncertain',
        level: 'note',
        message: {
          text: `request ${r.id}${variant}: a statement could not be judged locally; got ${r.action}`,
        },
        locations: [where],
      });
    }
  }
  for (const e of outcome.parseErrors) {
    results.push({
      ruleId: 'unreadable-request',
      level: 'error',
      message: { text: e.message },
      locations: [
        {
          physicalLocation: {
            artifactLocation: { uri: artifactUri(e.file) },
            ...(e.line >= 1 ? { region: { startLine: e.line } } : {}),
          },
        },
      ],
    });
  }
  return log(`wafgen-test/${uri}`, TEST_RULES, results, { summary: outcome.summary });
}
