// The headline flow, end to end in-process with a real (embedded) store in a temp data directory:
// list and info on the bundled records, import an NVD file, generate with evidence, versions.
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';

import { PgliteThread } from '../../src/store/pglite-thread.js';

import { fixture, runBin, runCli } from '../support/cli.js';
import { useTempDataDir } from '../support/env.js';
import { sharedPath } from '../support/shared.js';

const dataDir = useTempDataDir('wafgen-cli-');

describe('wafgen list / info / import / generate', () => {
  it('lists the bundled records on a fresh data directory and shows one', async () => {
    const list = await runCli(['list', '--kev', '--json', '--limit', '500']);
    expect(list.code).toBe(0);
    const records = JSON.parse(list.stdout) as { id: string; kev: boolean }[];
    expect(records.length).toBeGreaterThanOrEqual(50);
    expect(records.every((r) => r.kev)).toBe(true);
    const info = await runCli(['info', 'cve-2021-44228']);
    expect(info.code).toBe(0);
    expect(info.stdout).toContain('CVE-2021-44228');
    expect(info.stdout).toMatch(/exploit facts: class jndi-injection/);
  }, 60_000);

  it('an unknown CVE is one clear line, exit 2', async () => {
    const r = await runCli(['info', 'CVE-2099-0001']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/not in the local store/);
    expect(r.stderr).toMatch(/import it with/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect((await runCli(['generate', 'not-a-cve'])).stderr).toMatch(/is not a CVE ID/);
  });

  it('imports an NVD response, idempotently', async () => {
    const first = await runCli(['import', fixture('vulns-cli/nvd-CVE-2099-0001.json'), '--json']);
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ files: 1, inserted: 1, errors: 0 });
    const again = await runCli(['import', fixture('vulns-cli/nvd-CVE-2099-0001.json'), '--json']);
    expect(JSON.parse(again.stdout)).toMatchObject({ inserted: 0, updated: 0, unchanged: 1 });
    const info = JSON.parse((await runCli(['info', 'CVE-2099-0001', '--json'])).stdout);
    expect(info.record).toMatchObject({
      id: 'CVE-2099-0001',
      severity: 'high',
      cwes: ['CWE-22'],
      vendor: 'example',
      product: 'reports',
    });
  });

  it('generates a rule from the record and a PoC, tests it, and keeps versions', async () => {
    const r = await runCli([
      'generate',
      'CVE-2099-0001',
      '--evidence',
      fixture('vulns-cli/CVE-2099-0001-poc.http'),
      '--json',
    ]);
    expect(r.code).toBe(0);
    const { rule, report } = JSON.parse(r.stdout);
    expect(rule.Name).toBe('wafgen-CVE-2099-0001');
    expect(report).toMatchObject({
      passed: true,
      attackClass: 'path-traversal',
      producedBy: 'builtin',
      version: 1,
    });
    expect(report.tests.evidence).toMatchObject({ total: 2, blocked: 2 });
    expect(report.tests.variants.blocked / report.tests.variants.total).toBeGreaterThanOrEqual(0.9);
    expect(report.tests.benign.blocked).toBe(0);
    // Same inputs, same rule: no new version.
    const again = JSON.parse(
      (
        await runCli([
          'generate',
          'CVE-2099-0001',
          '--evidence',
          fixture('vulns-cli/CVE-2099-0001-poc.http'),
          '--json',
        ])
      ).stdout,
    );
    expect(again.report.version).toBe(1);
    const info = JSON.parse((await runCli(['info', 'CVE-2099-0001', '--json'])).stdout);
    expect(info.rules.map((v: { version: number }) => v.version)).toEqual([1]);
    // One audit event per generation, in the default JSON Lines sink under the data directory.
    const events = readFileSync(join(dataDir, 'audit', 'audit.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((e) => e.cveId === 'CVE-2099-0001');
    expect(events).toHaveLength(2);
    expect(events[0]).toMatchObject({
      type: 'generation',
      generated: true,
      passed: true,
      ruleName: 'wafgen-CVE-2099-0001',
      ruleVersion: 1,
      engine: 'builtin',
    });
  }, 60_000);

  it('a generate in an existing folder opens the store with PGlite on a thread started ahead; bad input or no store starts none or gives it back', async () => {
    // The folder exists (made by the commands above, or by this one when run alone).
    expect((await runCli(['list', '--limit', '1'])).code).toBe(0);
    const start = vi.spyOn(PgliteThread, 'start');
    try {
      const r = await runCli(['generate', 'CVE-2021-44228', '--json']);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout).report).toMatchObject({ verdict: 'proven', version: 1 });
      expect(start).toHaveBeenCalledTimes(1);
      expect(existsSync(join(dataDir, 'pglite.lock'))).toBe(false);
      // Not a CVE ID: refused at once, no thread started for it.
      expect((await runCli(['generate', 'not-a-cve'])).code).toBe(2);
      expect(start).toHaveBeenCalledTimes(1);
      // A CVE ID with a bad option: the thread started ahead of the check is given back.
      expect((await runCli(['generate', 'CVE-2021-44228', '--max-attempts', '0'])).code).toBe(2);
      expect(start).toHaveBeenCalledTimes(2);
      expect(existsSync(join(dataDir, 'pglite.lock'))).toBe(false);
      // A record given and nothing to save: no store at all.
      const noStore = await runCli([
        'generate',
        'CVE-2099-0001',
        '--vuln',
        fixture('vulns-cli/nvd-CVE-2099-0001.json'),
        '--evidence',
        fixture('vulns-cli/CVE-2099-0001-poc.http'),
        '--no-save',
        '--json',
      ]);
      expect(noStore.code, noStore.stderr).toBe(0);
      expect(start).toHaveBeenCalledTimes(2);
      expect(existsSync(join(dataDir, 'pglite.lock'))).toBe(false);
    } finally {
      start.mockRestore();
    }
  }, 60_000);

  it('exports Terraform JSON and CloudFormation with the computed capacity', async () => {
    const tf = await runCli(['generate', 'CVE-2021-44228', '--format', 'terraform', '--no-save']);
    expect(tf.code).toBe(0);
    const group = Object.values(JSON.parse(tf.stdout).resource.aws_wafv2_rule_group)[0] as {
      capacity: number;
      rule_json: string;
    };
    const rules = JSON.parse(group.rule_json);
    expect(rules[0].Name).toBe('wafgen-CVE-2021-44228');
    expect(group.capacity).toBeGreaterThan(0);
    const cfn = JSON.parse(
      (await runCli(['generate', 'CVE-2021-44228', '--format', 'cloudformation', '--no-save'])).stdout,
    );
    const resource = Object.values(cfn.Resources)[0] as {
      Type: string;
      Properties: { Capacity: number; Rules: unknown[] };
    };
    expect(resource.Type).toBe('AWS::WAFv2::RuleGroup');
    expect(resource.Properties.Capacity).toBe(group.capacity);
  }, 60_000);
});

const exploits = sharedPath('corpus', 'exploits.dev.jsonl');
describe.skipIf(!exploits)('wafgen generate CVE-2021-44228 (the real binary, a fresh data directory)', () => {
  it('prints a rule that validate accepts and that blocks the corpus Log4Shell requests', () => {
    const env = { WAFGEN_DATA_DIR: mkdtempSync(join(tmpdir(), 'wafgen-bin-')), WAFGEN_OFFLINE: '1' };
    const gen = runBin(
      ['generate', 'CVE-2021-44228', '--output', join(env.WAFGEN_DATA_DIR, 'rule.json')],
      env,
    );
    expect(gen.code, gen.stderr).toBe(0);
    expect(gen.stderr).toMatch(
      /^CVE-2021-44228: proven — blocks (\d+)\/\1 exploit requests? and \d+\/\d+ evasion variants?; 0 of [\d,]+ benign requests? blocked/m,
    );
    const ruleFile = join(env.WAFGEN_DATA_DIR, 'rule.json');
    expect(JSON.parse(readFileSync(ruleFile, 'utf8')).Action).toEqual({ Block: {} });
    expect(runBin(['validate', ruleFile], env).code).toBe(0);
    const test = runBin(['test', '--rule', ruleFile, '--requests', exploits!, '--json'], env);
    const results = JSON.parse(test.stdout).results as { id: string; matched: boolean }[];
    const log4j = results.filter((x) => x.id.startsWith('CVE-2021-44228#'));
    expect(log4j.length).toBeGreaterThan(0);
    expect(log4j.every((x) => x.matched)).toBe(true);

    // The benign leaf outcomes it evaluated are kept in the data directory, behind their key.
    const leaves = join(env.WAFGEN_DATA_DIR, 'cache', 'benign-leaves.v8');
    expect(readFileSync(leaves, 'latin1').split('\n', 1)[0]).toMatch(
      /^wafgen-benign-leaves\/2 node v\d+\.\d+\.\d+ code \d+\/\d+\//,
    );
    const kept = statSync(leaves).ino;

    // Again in the same folder: the store opens with PGlite on a thread started ahead
    // (app/store-early.ts); the rule is the same, so no new version, and the folder is free after.
    const again = runBin(['generate', 'CVE-2021-44228', '--json'], env);
    expect(again.code, again.stderr).toBe(0);
    const report = JSON.parse(again.stdout).report;
    expect(report).toMatchObject({ verdict: 'proven', version: 1, tests: { benign: { blocked: 0 } } });
    expect(existsSync(join(env.WAFGEN_DATA_DIR, 'pglite.lock'))).toBe(false);
    // Every benign leaf came from the kept outcomes: nothing new was evaluated, so nothing written.
    expect(statSync(leaves).ino).toBe(kept);
    // Kept outcomes behind another key (another build, corpus or regex engine) are not used: the
    // leaves are evaluated again and the file written anew, with the same verdict.
    const bytes = readFileSync(leaves);
    writeFileSync(leaves, Buffer.concat([Buffer.from('stale '), bytes]));
    const third = runBin(['generate', 'CVE-2021-44228', '--json'], env);
    expect(third.code, third.stderr).toBe(0);
    expect(JSON.parse(third.stdout).report).toMatchObject({ verdict: 'proven', tests: report.tests });
    expect(readFileSync(leaves).equals(bytes)).toBe(true);
    // A generate that fails after the thread started gives the folder back and ends.
    const bad = runBin(['generate', 'CVE-2021-44228', '--max-attempts', '0'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--max-attempts must be a whole number/);
    expect(existsSync(join(env.WAFGEN_DATA_DIR, 'pglite.lock'))).toBe(false);
    const info = runBin(['info', 'CVE-2021-44228', '--json'], env);
    expect(info.code, info.stderr).toBe(0);
  }, 90_000);
});
