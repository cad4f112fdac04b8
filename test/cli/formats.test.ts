// CI outputs and round trips (issue 17, items 3 and 4): `test` and `validate` write SARIF 2.1.0 that
// the official schema accepts and JUnit XML whose counts are right; `validate` reads back every
// format the real binary writes and says which it recognised.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import AjvModule from 'ajv';
import addFormatsModule from 'ajv-formats';
import { XMLParser } from 'fast-xml-parser';
import { beforeAll, describe, expect, it } from 'vitest';

import { fixture, runBin, runCli } from '../support/cli.js';
import { useTempDataDir } from '../support/env.js';

// ajv and ajv-formats are CommonJS: under ESM their class and plugin are the `default` export's own
// `default` (TypeScript's view and Node's differ; this reads both).
type AjvClass = typeof AjvModule.default;
type AddFormats = typeof addFormatsModule.default;
const Ajv: AjvClass =
  (AjvModule as unknown as { default: AjvClass }).default ?? (AjvModule as unknown as AjvClass);
const addFormats: AddFormats =
  (addFormatsModule as unknown as { default: AddFormats }).default ??
  (addFormatsModule as unknown as AddFormats);

const dataDir = useTempDataDir('wafgen-formats-data-');
const tmp = mkdtempSync(join(tmpdir(), 'wafgen-formats-'));
const file = (name: string, content: string): string => {
  const p = join(tmp, name);
  writeFileSync(p, content);
  return p;
};
const bin = (args: string[]) => runBin(args, { WAFGEN_DATA_DIR: dataDir, WAFGEN_OFFLINE: '1' });

const log4shell = fixture('rules/log4shell-rule.json');
const broken = fixture('rules/broken-rule.json');
/** Four requests against the Log4Shell rule: caught, missed, falsely blocked, no expectation. */
const requests = file(
  'cases.jsonl',
  [
    { id: 'caught', method: 'GET', uri: '/?q=%24%7Bjndi%3Aldap%3A%2F%2Fx%2Fa%7D', expect: 'block' },
    { id: 'missed', method: 'GET', uri: '/?q=harmless', expect: 'block' },
    { id: 'false-positive', method: 'GET', uri: '/?q=%24%7Bjndi%3Aldap%3A%2F%2Fy%7D', expect: 'allow' },
    { id: 'no-expectation', method: 'GET', uri: '/' },
  ]
    .map((r) => JSON.stringify(r))
    .join('\n') + '\n',
);

const sarifSchema: unknown = JSON.parse(readFileSync(fixture('sarif/sarif-schema-2.1.0.json'), 'utf8'));
const ajv = new Ajv({ allErrors: true });
addFormats(ajv);
const validateSarif = ajv.compile(sarifSchema as object);

const xml = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '',
  isArray: (name) => name === 'testsuite' || name === 'testcase',
});

interface Suite {
  tests: string;
  failures: string;
  errors: string;
  skipped?: string;
  testcase: { name: string; classname: string; failure?: { type: string }; skipped?: unknown }[];
}

/** What the real binary wrote, by file name, and its exit code: produced once for the whole file. */
const written: Record<string, string> = {};
const exitCodes: Record<string, number> = {};
beforeAll(() => {
  const write = (name: string, args: string[]) => {
    const r = bin(args);
    exitCodes[name] = r.code;
    written[name] = file(name, r.stdout);
  };
  write('rule.json', ['generate', 'CVE-2021-44228', '--no-save']);
  write('generate.json', ['generate', 'CVE-2021-44228', '--no-save', '--json']);
  write('rule.tf.json', ['generate', 'CVE-2021-44228', '--no-save', '--format', 'terraform']);
  write('rule.cfn.json', ['generate', 'CVE-2021-44228', '--no-save', '--format', 'cloudformation']);
  write('test.json', ['test', '--rule', log4shell, '--requests', requests, '--json']);
  write('test.sarif', ['test', '--rule', log4shell, '--requests', requests, '--format', 'sarif']);
  write('test.xml', ['test', '--rule', log4shell, '--requests', requests, '--format', 'junit']);
  write('validate.json', ['validate', broken, '--json']);
  write('validate.sarif', ['validate', broken, '--format', 'sarif']);
  write('validate.xml', ['validate', broken, '--format', 'junit']);
}, 60_000);
const output = (name: string): string => readFileSync(written[name]!, 'utf8');

describe('SARIF 2.1.0', () => {
  it('the schema check itself rejects a log that breaks SARIF', () => {
    const bad = { version: '2.1.0', runs: [{ tool: { driver: {} }, results: [{ level: 'fatal' }] }] };
    expect(validateSarif(bad)).toBe(false);
  });

  it('test --format sarif: valid against the schema, a result per unmet expectation', () => {
    expect(exitCodes['test.sarif']).toBe(1); // expectations were not met: CI fails
    const log = JSON.parse(output('test.sarif'));
    expect(validateSarif(log), JSON.stringify(validateSarif.errors)).toBe(true);
    const results = log.runs[0].results as { ruleId: string; level: string; message: { text: string } }[];
    expect(results.map((x) => x.ruleId).sort()).toEqual(['false-positive', 'missed-exploit']);
    expect(results.every((x) => x.level === 'error')).toBe(true);
    expect(results.find((x) => x.ruleId === 'missed-exploit')!.message.text).toContain('request missed');
    expect(log.runs[0].tool.driver.name).toBe('wafgen');
    // Its own code-scanning category per command and file (several logs upload together).
    expect(log.runs[0].automationDetails.id).toBe(`wafgen-test/${pathToFileURL(log4shell).href}/`);
    expect(log.runs[0].properties.summary).toMatchObject({ total: 4, mismatches: 2 });
  });

  it('validate --format sarif: valid against the schema, a result per finding at its JSON path', async () => {
    expect(exitCodes['validate.sarif']).toBe(1);
    const log = JSON.parse(output('validate.sarif'));
    expect(validateSarif(log), JSON.stringify(validateSarif.errors)).toBe(true);
    const json = JSON.parse(output('validate.json'));
    const results = log.runs[0].results as {
      ruleId: string;
      level: string;
      locations: { logicalLocations: { fullyQualifiedName: string }[] }[];
    }[];
    expect(results).toHaveLength(json.findings.length);
    expect(results.map((x) => x.locations[0]!.logicalLocations[0]!.fullyQualifiedName)).toContain('$.Name');
    expect(results.filter((x) => x.level === 'error')).toHaveLength(json.summary.errors);
    // Every ruleId a result names is declared in the driver's rules.
    const declared = new Set((log.runs[0].tool.driver.rules as { id: string }[]).map((x) => x.id));
    for (const x of results) expect(declared.has(x.ruleId)).toBe(true);
  });
});

describe('JUnit XML', () => {
  it('test --format junit: a case per request, failures and skips counted', () => {
    expect(exitCodes['test.xml']).toBe(1);
    const doc = xml.parse(output('test.xml')) as { testsuites: { tests: string; testsuite: Suite[] } };
    const [suite] = doc.testsuites.testsuite;
    expect(suite).toMatchObject({ tests: '4', failures: '2', errors: '0', skipped: '1' });
    const byName = Object.fromEntries(suite!.testcase.map((c) => [c.name, c]));
    expect(byName.caught!.failure).toBeUndefined();
    expect(byName.missed!.failure!.type).toBe('missed-exploit');
    expect(byName['false-positive']!.failure!.type).toBe('false-positive');
    expect(byName['no-expectation']!.skipped).toBeDefined();
  });

  it('validate --format junit: one case, failed with the errors when the document is invalid', async () => {
    const bad = xml.parse(output('validate.xml')) as {
      testsuites: { testsuite: Suite[] };
    };
    expect(bad.testsuites.testsuite[0]).toMatchObject({ tests: '1', failures: '1' });
    expect(bad.testsuites.testsuite[0]!.testcase[0]!.failure!.type).toBe('schema');
    const good = xml.parse((await runCli(['validate', log4shell, '--format', 'junit'])).stdout) as {
      testsuites: { testsuite: Suite[] };
    };
    expect(good.testsuites.testsuite[0]).toMatchObject({ tests: '1', failures: '0' });
  });

  it('text from input is escaped: a request id with controls stays well-formed XML', async () => {
    const hostile = file(
      'hostile.jsonl',
      JSON.stringify({ id: 'a\x1b[2J<b>&"\u202e', method: 'GET', uri: '/', expect: 'block' }) + '\n',
    );
    const r = await runCli(['test', '--rule', log4shell, '--requests', hostile, '--format', 'junit']);
    const doc = xml.parse(r.stdout) as { testsuites: { testsuite: Suite[] } };
    // Escaped by wafgen (controls, bidi), then by XML (<, &, "), read back as escaped text.
    expect(doc.testsuites.testsuite[0]!.testcase[0]!.name).toBe('a\\x1b[2J<b>&"\\u{202e}');
  });

  it('--json and another --format disagree: a usage error naming both', async () => {
    const r = await runCli(['validate', log4shell, '--json', '--format', 'sarif']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('wafgen: --json and --format sarif disagree; pass one of them\n');
  });
});

describe('round trips: validate reads back what the real binary writes', () => {
  it('the binary wrote each: generate exit 0, test and validate exit 1 (the inputs fail on purpose)', () => {
    for (const name of ['rule.json', 'generate.json', 'rule.tf.json', 'rule.cfn.json'])
      expect(exitCodes[name], name).toBe(0);
    for (const name of [
      'test.json',
      'test.sarif',
      'test.xml',
      'validate.json',
      'validate.sarif',
      'validate.xml',
    ])
      expect(exitCodes[name], name).toBe(1);
  });

  const validate = async (name: string) => {
    const r = await runCli(['validate', written[name]!, '--json']);
    return { code: r.code, out: JSON.parse(r.stdout) as Record<string, unknown> };
  };

  it('rules: JSON, generate --json, Terraform and CloudFormation, each with its rule checked', async () => {
    const rule = await validate('rule.json');
    expect(rule).toMatchObject({ code: 0, out: { kind: 'rule', valid: true } });
    // Plain WAFv2 JSON: the library's result as it is, with no recognised format added.
    expect(rule.out.format).toBeUndefined();
    const wcu = rule.out.wcu as number;
    expect(wcu).toBeGreaterThan(0);
    for (const [name, format, kind] of [
      ['generate.json', 'generate-report', 'rule'],
      ['rule.tf.json', 'terraform', 'rule-group'],
      ['rule.cfn.json', 'cloudformation', 'rule-group'],
    ] as const) {
      const r = await validate(name);
      expect(r, name).toMatchObject({ code: 0, out: { format, kind, valid: true, rules: 1, wcu } });
    }
  });

  it('reports: test and validate --json, SARIF and JUnit are recognised and checked for shape', async () => {
    for (const [name, format] of [
      ['test.json', 'test-report'],
      ['test.sarif', 'sarif'],
      ['test.xml', 'junit'],
      ['validate.json', 'validation-report'],
      ['validate.sarif', 'sarif'],
      ['validate.xml', 'junit'],
    ] as const) {
      const r = await validate(name);
      expect(r, name).toMatchObject({ code: 0, out: { format, valid: true, rules: 0 } });
    }
  });

  it('the text output says what it recognised', async () => {
    const r = await runCli(['validate', written['rule.tf.json']!]);
    expect(r.stdout).toMatch(/: RuleGroup valid, 1 rule, \d+ WCU\n {2}recognised: Terraform JSON/);
    const t = await runCli(['validate', written['test.json']!]);
    expect(t.stdout).toContain('report well-formed (it records 4 requests, 2 expectation mismatches');
  });

  it('a broken rule inside Terraform is invalid, its finding located inside rule_json', async () => {
    const tf = JSON.parse(readFileSync(written['rule.tf.json']!, 'utf8'));
    const [id] = Object.keys(tf.resource.aws_wafv2_rule_group);
    const group = tf.resource.aws_wafv2_rule_group[id!];
    const rules = JSON.parse(group.rule_json);
    rules[0].Priority = -1;
    group.rule_json = JSON.stringify(rules);
    const r = await runCli(['validate', file('broken.tf.json', JSON.stringify(tf)), '--json']);
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(out.findings.map((f: { path: string }) => f.path)).toContain(
      `$.resource.aws_wafv2_rule_group.${id}.rule_json $[0].Priority`,
    );
  });

  it('an edited test report whose summary no longer matches its results is malformed', async () => {
    const report = JSON.parse(readFileSync(written['test.json']!, 'utf8'));
    report.summary.mismatches = 0;
    const r = await runCli(['validate', file('edited.json', JSON.stringify(report)), '--json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).findings[0]).toMatchObject({
      code: 'report-shape',
      path: '$.summary.mismatches',
    });
  });
});
