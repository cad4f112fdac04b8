// `wafgen deploy` end to end in-process: rules from a fresh embedded store (or a file), the real SDK
// pointed at the fake WAFv2 endpoint through AWS_ENDPOINT_URL_WAFV2, fake credentials in the env.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { openStore } from '../../src/store/index.js';
import { runCli } from '../support/cli.js';
import { startFakeWafv2, type FakeWafv2 } from '../support/fake-wafv2/server.js';
import { byteMatch, field, rule, tt } from '../support/rules.js';
import { credentials, cveRule, existingRules, webAclExtras } from './helpers.js';

const dataDir = mkdtempSync(join(tmpdir(), 'wafgen-deploy-'));
const CVE = 'CVE-2099-0001';
const v1 = rule(byteMatch('../', field.uri(), 'CONTAINS', tt('URL_DECODE')), { name: `wafgen-${CVE}` });
const v2 = rule(byteMatch('../', field.uri(), 'CONTAINS', tt('URL_DECODE', 'URL_DECODE_UNI')), {
  name: `wafgen-${CVE}`,
});

const ENV = {
  WAFGEN_DATA_DIR: dataDir,
  AWS_ACCESS_KEY_ID: credentials.accessKeyId,
  AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
  AWS_REGION: 'eu-west-1',
  AWS_EC2_METADATA_DISABLED: 'true',
  AWS_CONFIG_FILE: join(dataDir, 'no-aws-config'),
  AWS_SHARED_CREDENTIALS_FILE: join(dataDir, 'no-aws-credentials'),
  AWS_PROFILE: undefined,
  AWS_ENDPOINT_URL: undefined,
} as Record<string, string | undefined>;
const saved: Record<string, string | undefined> = {};
let fake: FakeWafv2;

beforeAll(async () => {
  fake = await startFakeWafv2();
  for (const [k, v] of Object.entries({ ...ENV, AWS_ENDPOINT_URL_WAFV2: fake.url })) {
    saved[k] = process.env[k];
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  const store = await openStore({ dataDir });
  try {
    for (const [i, r] of [v1, v2].entries())
      await store.rules.saveVersion(CVE, { rule: r, inputsHash: `h${i}`, engine: 'builtin', report: {} });
  } finally {
    await store.close();
  }
  fake.addWebAcl({ name: 'shop', region: 'eu-west-1', rules: existingRules(), extra: webAclExtras });
  fake.addRuleGroup({ name: 'edge', scope: 'CLOUDFRONT', capacity: 200 });
}, 60_000);

afterAll(async () => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  await fake.close();
});

const lines = (s: string) => s.trimEnd().split('\n');

describe('wafgen deploy', () => {
  it('stages the latest stored version: dry run, Count, promote, rollback', async () => {
    const dry = await runCli(['deploy', CVE, '--web-acl', 'shop', '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('web ACL shop (REGIONAL, eu-west-1): dry run: nothing sent');
    expect(dry.stdout).toContain(`+ wafgen-${CVE}  priority 11, Count`);
    expect(dry.stdout).toContain(
      `wafgen-${CVE} (version 2) would be in web ACL shop at priority 11 with action Count`,
    );
    expect(fake.webAcl('shop', { region: 'eu-west-1' }).webAcl.Rules).toHaveLength(3);

    const deployed = await runCli(['deploy', CVE, '--web-acl', 'shop']);
    expect(deployed.code).toBe(0);
    expect(deployed.stdout).toContain(
      `wafgen-${CVE} (version 2) is now in web ACL shop at priority 11 with action Count`,
    );
    expect(deployed.stderr).toContain(
      `next: watch it in Count, then \`wafgen deploy ${CVE} --web-acl shop --promote --soak 60\``,
    );

    const early = await runCli(['deploy', CVE, '--web-acl', 'shop', '--promote', '--soak', '30']);
    expect(early.code).toBe(1);
    expect(lines(early.stderr)).toHaveLength(1);
    expect(early.stderr).toMatch(
      /^wafgen: wafgen-CVE-2099-0001 has been in Count for 0 of the 30 soak minutes; promote after /,
    );

    const promoted = await runCli(['deploy', CVE, '--web-acl', 'shop', '--promote']);
    expect(promoted.code).toBe(0);
    expect(promoted.stdout).toContain(`~ wafgen-${CVE}  priority 11, Count → Block; changed: Action`);
    expect(promoted.stdout).toContain(
      `wafgen-${CVE} (version 2) is now in web ACL shop at priority 11 with action Block`,
    );

    const back = await runCli(['deploy', CVE, '--web-acl', 'shop', '--rollback', '--json']);
    expect(back.code).toBe(0);
    const result = JSON.parse(back.stdout);
    expect(result).toMatchObject({
      operation: 'rollback',
      outcome: 'updated',
      version: 1,
      action: 'Count',
      priority: 11,
    });
    // The JSON carries the rules as wafgen writes them (SearchString as text).
    expect(result.after[3]).toEqual({ ...v1, Priority: 11, Action: { Count: {} } });
    const acl = fake.webAcl('shop', { region: 'eu-west-1' }).webAcl;
    expect(acl.Rules![3]).toEqual({ ...v1, Priority: 11, Action: { Count: {} } });
    expect(acl.Rules!.slice(0, 3)).toEqual(existingRules());

    // Every change is in the store's audit events.
    const store = await openStore({ dataDir });
    try {
      const events = await store.audit.list({ type: 'deploy', cveId: CVE });
      expect(events.map((e) => (e.data as { operation: string }).operation)).toEqual([
        'rollback',
        'promote',
        'deploy',
      ]);
      expect(events[2]).toMatchObject({
        principal: expect.stringMatching(/^cli:/),
        data: { version: 2, action: 'Count', targetName: 'shop' },
      });
    } finally {
      await store.close();
    }
    // And each step is an audit event (src/audit, the file sink by default), the failures included.
    const audit = readFileSync(join(dataDir, 'audit', 'audit.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; cveId: string; deployment: Record<string, unknown> })
      .filter((e) => e.type === 'deployment' && e.cveId === CVE);
    const steps = audit.map((e) => [
      e.deployment.action,
      e.deployment.mode,
      e.deployment.dryRun,
      e.deployment.ok,
    ]);
    expect(steps).toContainEqual(['deploy', 'count', true, true]); // the plan (--dry-run)
    expect(steps).toContainEqual(['deploy', 'count', false, true]);
    // The promotion the soak check refused, with its reason.
    expect(steps).toContainEqual(['promote', 'block', false, false]);
    expect(audit.find((e) => e.deployment.ok === false)?.deployment.error).toMatch(/soak minutes/);
    expect(steps).toContainEqual(['promote', 'block', false, true]);
    expect(steps).toContainEqual(['rollback', 'count', false, true]);
    expect(steps.at(-1)).toEqual(['rollback', 'count', false, true]);
  }, 60_000);

  it('deploys a rule file into a CLOUDFRONT rule group in us-east-1, with --endpoint', async () => {
    const file = join(dataDir, 'rule.json');
    writeFileSync(file, JSON.stringify({ rule: cveRule('CVE-2021-44228'), report: {} }));
    const r = await runCli([
      'deploy',
      '--rule',
      file,
      '--rule-group',
      'edge',
      '--scope',
      'CLOUDFRONT',
      '--endpoint',
      fake.url,
      '--json',
    ]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      outcome: 'updated',
      cveId: 'CVE-2021-44228',
      target: { kind: 'rule-group', scope: 'CLOUDFRONT', region: 'us-east-1' },
      priority: 0,
      action: 'Count',
    });
    expect(fake.callsOf('UpdateRuleGroup').at(-1)!.region).toBe('us-east-1');
    expect(fake.ruleGroup('edge', { scope: 'CLOUDFRONT' }).ruleGroup.Rules).toHaveLength(1);
  });

  it('bad input: one line, exit 2', async () => {
    const cases: [string[], RegExp][] = [
      [[CVE], /give exactly one target: --web-acl NAME\|ARN or --rule-group NAME\|ARN/],
      [[CVE, '--web-acl', 'a', '--rule-group', 'b'], /give exactly one target/],
      [['--web-acl', 'shop'], /give a CVE ID or --rule FILE/],
      [['not-a-cve', '--web-acl', 'shop'], /is not a CVE ID/],
      [[CVE, '--web-acl', 'shop', '--soak', '10'], /--soak goes with --promote/],
      [
        [CVE, '--web-acl', 'shop', '--promote', '--soak', '600'],
        /--soak must be a whole number from 1 to 180/,
      ],
      [[CVE, '--web-acl', 'shop', '--promote', '--rollback'], /cannot be combined/],
      [
        ['CVE-2099-0002', '--web-acl', 'shop'],
        /no rule for CVE-2099-0002 in the store; run `wafgen generate CVE-2099-0002` first/,
      ],
      [[CVE, '--web-acl', 'arn:aws:wafv2:nope'], /is not a WAFv2 web ACL ARN/],
      [[CVE, '--web-acl', 'shop', '--region', 'mars'], /"mars" is not an AWS Region/],
      [[CVE, '--web-acl', 'shop', '--scope', 'GLOBAL'], /argument 'GLOBAL' is invalid/],
      [['--rule', join(dataDir, 'missing.json'), '--web-acl', 'shop'], /missing\.json: no such file/],
      [[CVE, '--rule-group', 'edge', '--promote', '--soak', '5'], /the soak check needs a web ACL/],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(['deploy', ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(
        lines(r.stderr).filter((l) => !l.startsWith('(run with --help')),
        args.join(' '),
      ).toHaveLength(1);
    }
  }, 60_000);

  it('no credentials or no Region: one line, exit 2', async () => {
    const keep = { ...process.env };
    try {
      delete process.env.AWS_ACCESS_KEY_ID;
      delete process.env.AWS_SECRET_ACCESS_KEY;
      const noCreds = await runCli(['deploy', CVE, '--web-acl', 'shop']);
      expect(noCreds.code).toBe(2);
      expect(noCreds.stderr).toMatch(/^wafgen: no AWS credentials for looking up web ACL shop/);
      expect(lines(noCreds.stderr)).toHaveLength(1);
      Object.assign(process.env, {
        AWS_ACCESS_KEY_ID: keep.AWS_ACCESS_KEY_ID,
        AWS_SECRET_ACCESS_KEY: keep.AWS_SECRET_ACCESS_KEY,
      });
      delete process.env.AWS_REGION;
      delete process.env.AWS_DEFAULT_REGION;
      const noRegion = await runCli(['deploy', CVE, '--web-acl', 'shop']);
      expect(noRegion.code).toBe(2);
      expect(noRegion.stderr).toBe(
        'wafgen: no AWS region for web ACL shop: pass --region or set AWS_REGION\n',
      );
    } finally {
      Object.assign(process.env, keep);
    }
  }, 60_000);

  it('AWS refusals: one line, exit 1', async () => {
    const missing = await runCli(['deploy', CVE, '--web-acl', 'nope']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('wafgen: web ACL nope (REGIONAL, eu-west-1) not found\n');
    fake.addWebAcl({ name: 'tight', region: 'eu-west-1', rules: existingRules(), extra: webAclExtras });
    fake.webAclCapacityLimit = 720;
    try {
      const full = await runCli(['deploy', CVE, '--web-acl', 'tight', '--json']);
      expect(full.code).toBe(1);
      expect(JSON.parse(full.stdout)).toMatchObject({
        error: { code: 'capacity', awsError: 'WAFLimitsExceededException' },
      });
      expect(lines(full.stderr)).toHaveLength(1);
    } finally {
      fake.webAclCapacityLimit = 5000;
    }
  }, 60_000);
});
