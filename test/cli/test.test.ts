import { describe, expect, it } from 'vitest';

import { sharedPath } from '../support/shared.js';
import { fixture, runBin, runCli } from '../support/cli.js';

const exploits = sharedPath('corpus', 'exploits.dev.jsonl');
const benign = sharedPath('corpus', 'benign.dev.jsonl');
const log4shell = fixture('rules/log4shell-rule.json');

interface Result {
  id: string;
  expect?: string;
  matched: boolean;
  mismatch: boolean;
  variantOf?: string;
  technique?: string;
  terminatingStatement?: string;
}

describe.skipIf(!exploits || !benign)('wafgen test over the dev corpus', () => {
  it('a hand-written Log4Shell rule blocks every Log4Shell exploit and no benign request', async () => {
    const r = await runCli(['test', '--rule', log4shell, '--requests', exploits!, benign!, '--json']);
    const out = JSON.parse(r.stdout) as { results: Result[]; summary: { total: number } };
    expect(out.summary.total).toBe(111 + 2995);
    const log4j = out.results.filter((x) => x.id.startsWith('CVE-2021-44228#'));
    expect(log4j.length).toBeGreaterThanOrEqual(2);
    expect(log4j.every((x) => x.matched)).toBe(true);
    const benignBlocked = out.results.filter((x) => x.expect === 'allow' && x.matched);
    expect(benignBlocked.map((x) => x.id)).toEqual([]);
    // Other CVEs' exploits are expected to be blocked and are not: exit 1 with mismatches.
    expect(r.code).toBe(1);
  });

  it('with --variants, evasion variants are derived, tagged, and judged like any request', async () => {
    const only = fixture('requests-cli/log4shell.jsonl');
    const r = await runCli(['test', '--rule', log4shell, '--requests', only, '--variants', '--json']);
    const out = JSON.parse(r.stdout) as {
      results: Result[];
      summary: { variants: number; mismatches: number };
    };
    const byId = new Map(out.results.map((x) => [x.id, x]));
    expect(out.summary.variants).toBeGreaterThan(10);
    expect(out.results.filter((x) => x.variantOf === 'l4s-query').length).toBeGreaterThan(5);
    // The hand-written rule decodes the query twice: double encoding does not get past it...
    expect(byId.get('l4s-query~double-url-encode')).toMatchObject({
      matched: true,
      technique: 'double-url-encode',
    });
    // ...but it looks for the literal "${jndi:", so nested-lookup obfuscation and %u forms do.
    expect(byId.get('l4s-query~whitespace-1')).toMatchObject({ matched: false, mismatch: true });
    expect(byId.get('l4s-query~unicode-encode-1')).toMatchObject({ matched: false });
    // The benign request gets no variants and stays allowed.
    expect(out.results.filter((x) => x.id.startsWith('ordinary'))).toHaveLength(1);
    expect(r.code).toBe(1);
  });
});

describe('wafgen test', () => {
  it('explains a decision: statement, field, transformations, offset', async () => {
    const r = await runCli([
      'test',
      '--rule',
      log4shell,
      '--requests',
      fixture('requests-cli/log4shell.http'),
      '--explain',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /match ByteMatchStatement \$\.Statement\.OrStatement\.Statements\[1\]: on query-string, after URL_DECODE → URL_DECODE → LOWERCASE, at offset 2/,
    );
    expect(r.stdout).toMatch(/2 requests: 1 blocked, 1 allowed, 0 expectation mismatches/);
  });

  it('exit 2 on an invalid rule, a missing request file, or no requests', () => {
    expect(
      runBin([
        'test',
        '--rule',
        fixture('rules/broken-rule.json'),
        '--requests',
        fixture('requests-cli/log4shell.http'),
      ]).code,
    ).toBe(2);
    const missing = runBin(['test', '--rule', log4shell, '--requests', '/nonexistent/requests.jsonl']);
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
  });
});
