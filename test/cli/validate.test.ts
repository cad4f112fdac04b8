import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { fixture, runBin, runCli } from '../support/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'wafgen-validate-'));
const file = (name: string, content: string | Buffer): string => {
  const p = join(tmp, name);
  writeFileSync(p, content);
  return p;
};

describe('wafgen validate', () => {
  it('accepts the rule from the AWS documentation and prints its WCU', async () => {
    const r = await runCli(['validate', fixture('rules/aws-doc-bytematch-rule.json')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Rule valid, 10 WCU/);
  });

  it('rejects a broken rule with each problem at its JSON path', async () => {
    const r = await runCli(['validate', fixture('rules/broken-rule.json')]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('invalid');
    for (const path of [
      '$.Name',
      '$.Priority',
      '$.Action',
      '$.Statement.OrStatement.Statements[0].ByteMatchStatement.FieldToMatch',
    ]) {
      expect(r.stdout).toContain(path);
    }
  });

  it('prints one JSON object with --json', async () => {
    const r = await runCli(['validate', fixture('rules/log4shell-rule.json'), '--json']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ valid: true, kind: 'rule', wcu: 130, summary: { errors: 0, warnings: 0 } });
    expect(out.findings).toEqual([]);
  });

  it('reads `aws wafv2 get-web-acl` output with base64 SearchStrings', async () => {
    const r = await runCli(['validate', fixture('rules/aws-get-web-acl.json'), '--json']);
    const out = JSON.parse(r.stdout);
    expect(r.code).toBe(0);
    expect(out).toMatchObject({ valid: true, kind: 'web-acl', rules: 3 });
    // 200 (KnownBadInputs) + rate-based 2 + scope-down STARTS_WITH 2 + CONTAINS 10 + 2 transforms 20.
    expect(out.wcu).toBe(234);
    // The same file read as text: the base64 "L2xvZ2lu" is not "/login", and lint sees the
    // base64 class-loader token as-is (upper-case letters after LOWERCASE).
    const asText = await runCli([
      'validate',
      fixture('rules/aws-get-web-acl.json'),
      '--json',
      '--search-string-encoding',
      'text',
    ]);
    expect(JSON.parse(asText.stdout).findings.map((f: { code: string }) => f.code)).toContain(
      'unmatchable-case',
    );
  });

  it('fails a rule group whose rules need more than its Capacity', async () => {
    const r = await runCli(['validate', fixture('rules/rule-group-over-capacity.json')]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('capacity-exceeded');
    expect(r.stdout).toContain("rules need 130 WCU but the rule group's Capacity is 50");
  });

  it('checks names against --cve', async () => {
    const r = await runCli([
      'validate',
      fixture('rules/aws-doc-bytematch-rule.json'),
      '--cve',
      'CVE-2021-44228',
      '--json',
    ]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).findings.map((f: { code: string }) => f.code)).toEqual([
      'untraceable-name',
      'untraceable-name',
    ]);
  });
});

describe('wafgen validate on bad input (the real binary)', () => {
  const oneLine = (r: { stderr: string }) => {
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  };

  it('malformed JSON: exit 2, one line with the position', () => {
    const r = runBin(['validate', file('bad.json', '{"Name": "x",\n  "Priority": }')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/invalid JSON at line 2/);
    oneLine(r);
  });

  it('empty file, missing file, directory: exit 2, one line', () => {
    for (const target of [file('empty.json', ''), join(tmp, 'missing.json'), tmp]) {
      const r = runBin(['validate', target]);
      expect(r.code, target).toBe(2);
      oneLine(r);
    }
  });

  it('a 50 MB file: exit 2 without reading it', () => {
    const big = file('big.json', Buffer.alloc(50 * 1024 * 1024, 0x20));
    const r = runBin(['validate', big]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /input exceeds WAFGEN limit input-bytes=10485760 \(it is 50\.0 MiB; set WAFGEN_MAX_INPUT_BYTES/,
    );
    oneLine(r);
  });

  it('unknown option: exit 2', () => {
    const r = runBin(['validate', '--nope', 'x.json']);
    expect(r.code).toBe(2);
  });

  it('a bad environment variable is named: exit 2', () => {
    const r = runBin(['validate', fixture('rules/aws-doc-bytematch-rule.json')], {
      WAFGEN_MAX_INPUT_BYTES: 'lots',
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('WAFGEN_MAX_INPUT_BYTES');
    oneLine(r);
  });

  it('valid and invalid documents give exit 0 and 1; --help works', () => {
    expect(runBin(['validate', fixture('rules/aws-doc-bytematch-rule.json')]).code).toBe(0);
    expect(runBin(['validate', fixture('rules/broken-rule.json')]).code).toBe(1);
    const help = runBin(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('validate');
  });
});
