// `wafgen validate` and `wafgen test` on the hostile inputs of issue 14: one line and exit 2 naming
// the limit, or a finding (exit 1) for what AWS would refuse; both commands agree on every limit.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

import { and, byteMatch, field, not, or, rule } from '../support/rules.js';
import { runBin, runCli } from '../support/cli.js';
import { REPO_ROOT } from '../support/shared.js';
import type { Statement } from '../../src/waf/schema.js';

const tmp = mkdtempSync(join(tmpdir(), 'wafgen-limits-'));
const file = (name: string, content: unknown): string => {
  const p = join(tmp, name);
  writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content));
  return p;
};
const leaf = byteMatch('jndi', field.uri(), 'EXACTLY');
const nested = (levels: number, wrap: (s: Statement) => Statement = not) => {
  let s = leaf;
  for (let i = 0; i < levels; i++) s = wrap(s);
  return rule(s);
};
/** Text of a rule nested deeper than JSON.stringify can recurse. */
const deepText = (levels: number): string =>
  JSON.stringify(rule({ X: 1 } as Statement)).replace(
    '{"X":1}',
    '{"NotStatement":{"Statement":'.repeat(levels) + JSON.stringify(leaf) + '}}'.repeat(levels),
  );
const requests = file('requests.jsonl', JSON.stringify({ method: 'GET', uri: '/jndi' }) + '\n');
const oneLine = (stderr: string) => {
  expect(stderr.trim().split('\n')).toHaveLength(1);
  expect(stderr).not.toMatch(/\n\s+at |internal error/);
};

/** validate and test on the same document: their exit codes and what they print on stderr. */
async function both(path: string) {
  const v = await runCli(['validate', path]);
  const t = await runCli(['test', '--rule', path, '--requests', requests]);
  return { v, t };
}

describe('validate and test agree on every limit', () => {
  it.each([
    ['NotStatement', 64, not],
    ['AndStatement', 64, (s: Statement) => and(s, leaf)],
  ])('%s nested %i levels: both accept', async (_kind, levels, wrap) => {
    const { v, t } = await both(file(`ok-${_kind}.json`, nested(levels, wrap)));
    expect(v.code).toBe(0);
    expect(t.code).toBe(0);
  });

  it.each([65, 100, 500, 5_000, 50_000])(
    'statements nested %i levels: both refuse, exit 2, naming the limit',
    async (levels) => {
      const path = file(`deep-${levels}.json`, deepText(levels));
      const { v, t } = await both(path);
      for (const r of [v, t]) {
        expect(r.code).toBe(2);
        oneLine(r.stderr);
        expect(r.stderr).toMatch(
          new RegExp(
            `^wafgen: ${path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: input exceeds WAFGEN limit (statement-depth=64|json-depth=256) \\(`,
          ),
        );
      }
      expect(v.stderr).toBe(t.stderr);
    },
  );

  it('an OrStatement of 10,000 statements: both refuse it (statements-per-rule)', async () => {
    const { v, t } = await both(file('or.json', rule(or(...Array.from({ length: 10_000 }, () => leaf)))));
    for (const r of [v, t]) {
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('input exceeds WAFGEN limit statements-per-rule=10000');
    }
  });

  it('a file of 10,000 rules: invalid for its capacity in validate, refused by test', async () => {
    const rules = Array.from({ length: 10_000 }, (_, i) =>
      rule(byteMatch('x'), { name: `r${i}`, priority: i }),
    );
    const { v, t } = await both(file('rules.json', rules));
    expect(v.code).toBe(1);
    expect(v.stdout).toContain('list of Rules invalid, 10000 rules, 100000 WCU');
    expect(v.stdout).toContain('capacity-exceeded');
    expect(t.code).toBe(2);
    expect(t.stderr).toContain('rules need 100000 WCU; no web ACL or rule group holds more than 5000');
    oneLine(t.stderr);
  });

  it('an OrStatement over 5,000 WCU in a web ACL: invalid, not "valid"', async () => {
    const acl = {
      Name: 'acl',
      DefaultAction: { Allow: {} },
      Rules: [rule(or(...Array.from({ length: 501 }, () => byteMatch('x'))))],
      VisibilityConfig: { SampledRequestsEnabled: false, CloudWatchMetricsEnabled: false, MetricName: 'acl' },
    };
    const { v, t } = await both(file('acl.json', acl));
    expect(v.code).toBe(1);
    expect(v.stdout).toContain('rules need 5010 WCU; a web ACL allows at most 5000');
    expect(t.code).toBe(2);
  });

  it('invalid base64 in a get-web-acl SearchString: invalid in both', async () => {
    const acl = JSON.parse(
      (await import('node:fs')).readFileSync(
        resolve(REPO_ROOT, 'test/fixtures/rules/aws-get-web-acl.json'),
        'utf8',
      ),
    );
    acl.WebACL.Rules[2].Statement = byteMatch('%%% not base64');
    const { v, t } = await both(file('b64.json', acl));
    expect(v.code).toBe(1);
    expect(v.stdout).toContain('search-string-base64');
    expect(t.code).toBe(2);
    expect(t.stderr).toContain('is not valid base64');
  });
});

describe('endless and oversized input (the real binary)', () => {
  it('validate /dev/zero: exit 2 after reading at most the limit', () => {
    const r = runBin(['validate', '/dev/zero']);
    expect(r.code).toBe(2);
    oneLine(r.stderr);
    expect(r.stderr).toBe(
      'wafgen: /dev/zero: input exceeds WAFGEN limit input-bytes=10485760 (more than 10.0 MiB read; set WAFGEN_MAX_INPUT_BYTES to raise it)\n',
    );
  });

  it('test with requests from /dev/zero, in every format: exit 2', () => {
    const ruleFile = file('rule.json', nested(1));
    for (const format of ['jsonl', 'raw', 'har', 'waf-log']) {
      const r = runBin(['test', '--rule', ruleFile, '--requests', '/dev/zero', '--requests-format', format], {
        WAFGEN_MAX_INPUT_BYTES: '65536',
      });
      expect(r.code, format).toBe(2);
      oneLine(r.stderr);
      expect(r.stderr).toContain('/dev/zero: input exceeds WAFGEN limit input-bytes=65536');
    }
  });

  it('validate - reads stdin, held to the same limit', () => {
    const run = (input: string | Buffer) =>
      spawnSync(process.execPath, [resolve(REPO_ROOT, 'bin/wafgen.js'), 'validate', '-'], {
        input,
        encoding: 'utf8',
        env: { PATH: process.env.PATH, HOME: process.env.HOME, WAFGEN_MAX_INPUT_BYTES: '65536' },
        timeout: 60_000,
      });
    const ok = run(JSON.stringify(nested(1)));
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/^stdin: Rule valid, 2 WCU/);
    const big = run(Buffer.alloc(1024 * 1024, 0x20));
    expect(big.status).toBe(2);
    expect(big.stderr).toMatch(
      /^wafgen: stdin: input exceeds WAFGEN limit input-bytes=65536 \(more than 64\.0 KiB read/,
    );
  });
});
