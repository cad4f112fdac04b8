// What `generate` and `batch` say and how they exit, through the real binary: a rule with no exploit
// request to test is untested (exit 4, never "passed"), a rule proven against exploit requests
// exits 0, and no rule at all is a normal message with its own exit code (3), not an internal error.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { EXIT } from '../../src/cli/io.js';
import { spawnWafgen } from '../service/support.js';
import { fixture } from '../support/cli.js';

const UNTESTED_RECORD = fixture('vulns-cli/CVE-2099-0002-jndi.json');
const EXPLOITS = fixture('vulns-cli/CVE-2099-0002-exploits.jsonl');
const NO_RULE_RECORD = fixture('vulns-cli/CVE-2099-0003-disclosure.json');

const env = () => ({ WAFGEN_DATA_DIR: mkdtempSync(join(tmpdir(), 'wafgen-verdict-')), WAFGEN_OFFLINE: '1' });

async function run(args: string[], e = env()): Promise<{ code: number | null; output: string; dir: string }> {
  const child = spawnWafgen(args, e);
  const code = await child.exited;
  return { code, output: child.output(), dir: e.WAFGEN_DATA_DIR };
}

describe('wafgen generate: the verdict', () => {
  it('a rule with no exploit request to test is untested: exit 4, and the headline never says passed', async () => {
    const e = env();
    const out = join(e.WAFGEN_DATA_DIR, 'rule.json');
    const r = await run(
      ['generate', 'CVE-2099-0002', '--vuln', UNTESTED_RECORD, '--no-save', '--output', out],
      e,
    );
    expect(r.code, r.output).toBe(EXIT.untested);
    const headline = r.output.split('\n').find((l) => l.startsWith('CVE-2099-0002:'));
    expect(headline).toMatch(/^CVE-2099-0002: untested — no exploit request to test the rule against/);
    expect(headline).toContain('--evidence <file>');
    expect(r.output).not.toMatch(/passed/i);
    expect(r.output).toMatch(/not tested against: any exploit request/);
    expect(r.output).toMatch(/confidence low/);
    // The rule is still written: untested is not the same as wrong.
    expect(JSON.parse(readFileSync(out, 'utf8')).Action).toEqual({ Block: {} });
  }, 90_000);

  it('the same record with exploit requests is proven: exit 0, and the headline gives the figures', async () => {
    const r = await run([
      'generate',
      'CVE-2099-0002',
      '--vuln',
      UNTESTED_RECORD,
      '--evidence',
      EXPLOITS,
      '--no-save',
      '--json',
    ]);
    expect(r.code, r.output).toBe(EXIT.ok);
    const { report } = JSON.parse(r.output) as {
      report: {
        verdict: string;
        passed: boolean;
        summary: string;
        tests: Record<'evidence' | 'variants' | 'benign', { total: number; blocked: number }>;
      };
    };
    expect(report).toMatchObject({ verdict: 'proven', passed: true });
    const { evidence, variants, benign } = report.tests;
    expect(evidence).toEqual(expect.objectContaining({ total: 2, blocked: 2 }));
    expect(report.summary).toBe(
      `CVE-2099-0002: proven — blocks 2/2 exploit requests and ${variants.blocked}/${variants.total} evasion variants; 0 of ${benign.total.toLocaleString('en-US')} benign requests blocked`,
    );
  }, 90_000);

  it('no rule is a normal message saying what was recognised and what is needed: exit 3', async () => {
    const r = await run(['generate', 'CVE-2099-0003', '--vuln', NO_RULE_RECORD, '--no-save']);
    expect(r.code, r.output).toBe(EXIT.noRule);
    expect(r.output).not.toMatch(/internal error/);
    expect(r.output).toMatch(/^CVE-2099-0003: no rule — /m);
    expect(r.output).toMatch(/recognised: .*info-disclosure/);
    expect(r.output).toMatch(/to write one it needs:\n\s+- an exploit request \(--evidence <file>/);
    // No rule on stdout: nothing to apply.
    expect(r.output).not.toContain('"Statement"');

    const json = await run(['generate', 'CVE-2099-0003', '--vuln', NO_RULE_RECORD, '--no-save', '--json']);
    expect(json.code).toBe(EXIT.noRule);
    expect(JSON.parse(json.output)).toMatchObject({
      cveId: 'CVE-2099-0003',
      outcome: 'no-rule',
      noRule: { cveId: 'CVE-2099-0003', engine: 'builtin', exploitRequests: 0 },
    });
  }, 90_000);

  it('documents the exit codes in --help', async () => {
    const r = await run(['generate', '--help']);
    expect(r.code).toBe(0);
    for (const code of Object.values(EXIT)) expect(r.output).toMatch(new RegExp(`^\\s+${code}  `, 'm'));
  }, 30_000);
});

describe('wafgen batch: the same words', () => {
  it('reports untested and no-rule CVEs with the generate headline, and exits with the most serious', async () => {
    const e = env();
    const records = join(e.WAFGEN_DATA_DIR, 'records.jsonl');
    const line = (file: string) => JSON.stringify(JSON.parse(readFileSync(file, 'utf8')));
    writeFileSync(records, `${line(UNTESTED_RECORD)}\n${line(NO_RULE_RECORD)}\n`);
    const r = await run(['batch', '--from', records], e);
    expect(r.code, r.output).toBe(EXIT.noRule);
    expect(r.output).toMatch(/^CVE-2099-0002\s+untested\s/m);
    expect(r.output).toMatch(/^CVE-2099-0003\s+no-rule\s/m);
    expect(r.output).toMatch(/^CVE-2099-0002: untested — no exploit request/m);
    expect(r.output).toMatch(/^no rule could be written for CVE-2099-0003: /m);
    expect(r.output).not.toMatch(/passed/i);
  }, 120_000);
});
