// Deployment through the real SDK v3 client, over HTTP, against the fake WAFv2 endpoint.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { InputError } from '../../src/core/errors.js';
import {
  deployRule,
  DeployError,
  formatDeployResult,
  promoteRule,
  rollbackRule,
  type DeployTarget,
} from '../../src/deploy/index.js';
import type { Rule } from '../../src/waf/schema.js';
import { startFakeWafv2, type FakeWafv2 } from '../support/fake-wafv2/server.js';
import { byteMatch, field, rule, tt } from '../support/rules.js';
import { cveRule, existingRules, options, webAclExtras } from './helpers.js';

let fake: FakeWafv2;
beforeAll(async () => {
  fake = await startFakeWafv2();
});
afterAll(async () => {
  await fake.close();
});

const acl = (nameOrArn: string, extra: Partial<DeployTarget> = {}): DeployTarget => ({
  kind: 'web-acl',
  nameOrArn,
  region: 'us-east-1',
  ...extra,
});

function priorities(rules: readonly Rule[]): number[] {
  return rules.map((r) => r.Priority);
}

function expectUniquePriorities(rules: readonly Rule[]): void {
  expect(new Set(priorities(rules)).size).toBe(rules.length);
}

describe('deployRule into a web ACL', () => {
  it('adds the rule in Count at a free priority and leaves everything else exactly as it was', async () => {
    fake.addWebAcl({ name: 'shop', rules: existingRules(), description: 'shop front', extra: webAclExtras });
    const before = fake.webAcl('shop').webAcl;
    const { opts } = options(fake);
    const start = fake.calls.length;
    const r = await deployRule(
      acl('shop'),
      { rule: cveRule('CVE-2021-44228'), cveId: 'CVE-2021-44228', version: 1 },
      opts,
    );
    expect(r).toMatchObject({
      outcome: 'updated',
      ruleName: 'wafgen-CVE-2021-44228',
      action: 'Count',
      priority: 11,
      attempts: 1,
      version: 1,
      changes: [{ change: 'added', name: 'wafgen-CVE-2021-44228', priority: 11, actionAfter: 'Count' }],
    });
    // Managed group 700 + 2 + 13 before; the new rule: CONTAINS on headers (10) + 2 transformations (20).
    expect(r.capacity).toEqual({ rule: 30, before: 715, after: 745, limit: 5000 });
    // Capacity is checked before the update, and the update carries the LockToken from the Get.
    const ops = fake.calls.slice(start).map((c) => c.operation);
    expect(ops).toEqual(['ListWebACLs', 'GetWebACL', 'CheckCapacity', 'UpdateWebACL']);
    const after = fake.webAcl('shop').webAcl;
    const { Rules: rulesBefore, Capacity: _c1, ...restBefore } = before;
    const { Rules: rulesAfter, Capacity: _c2, ...restAfter } = after;
    expect(restAfter).toEqual(restBefore); // description, default action, bodies, token domains, CAPTCHA, ApplicationConfig
    expect(rulesAfter!.slice(0, 3)).toEqual(rulesBefore);
    expect(rulesAfter![3]).toEqual({ ...cveRule('CVE-2021-44228'), Priority: 11, Action: { Count: {} } });
    expectUniquePriorities(rulesAfter!);
    // The SearchString went over the wire base64-encoded, as AWS expects.
    const sent = fake.callsOf('UpdateWebACL').at(-1)!.body as {
      Rules: { Statement: { ByteMatchStatement?: { SearchString: string } } }[];
    };
    expect(sent.Rules[3]!.Statement.ByteMatchStatement!.SearchString).toBe(
      Buffer.from('${jndi:').toString('base64'),
    );
  });

  it('redeploying the same rule changes nothing; a new version replaces it in place, in Count again', async () => {
    fake.addWebAcl({ name: 'redeploy', rules: existingRules(), extra: webAclExtras });
    const { opts } = options(fake);
    await deployRule(acl('redeploy'), { rule: cveRule('CVE-2022-1388'), version: 1 }, opts);
    await promoteRule(acl('redeploy'), { ruleName: 'wafgen-CVE-2022-1388' }, opts);
    const updates = fake.callsOf('UpdateWebACL').length;
    const same = await deployRule(acl('redeploy'), { rule: cveRule('CVE-2022-1388'), version: 1 }, opts);
    expect(same).toMatchObject({ outcome: 'unchanged', action: 'Block', priority: 11, changes: [] });
    expect(fake.callsOf('UpdateWebACL').length).toBe(updates);
    const v2 = await deployRule(
      acl('redeploy'),
      { rule: cveRule('CVE-2022-1388', 'X-F5-Auth-Token'), version: 2 },
      opts,
    );
    expect(v2).toMatchObject({ outcome: 'updated', action: 'Count', priority: 11, version: 2 });
    expect(v2.changes).toEqual([
      expect.objectContaining({
        change: 'changed',
        name: 'wafgen-CVE-2022-1388',
        fields: ['Action', 'Statement'],
        actionBefore: 'Block',
        actionAfter: 'Count',
      }),
    ]);
    const rules = fake.webAcl('redeploy').webAcl.Rules!;
    expect(rules).toHaveLength(4);
    expectUniquePriorities(rules);
  });

  it('takes an explicit free priority, and refuses a taken one', async () => {
    fake.addWebAcl({ name: 'explicit', rules: existingRules(), extra: webAclExtras });
    const { opts } = options(fake);
    const taken = await deployRule(acl('explicit'), { rule: cveRule('CVE-2021-1'), priority: 5 }, opts).catch(
      (e: unknown) => e,
    );
    expect(taken).toBeInstanceOf(DeployError);
    expect((taken as Error).message).toMatch(/priority 5 is taken by rule block-admin/);
    const r = await deployRule(acl('explicit'), { rule: cveRule('CVE-2021-1'), priority: 3 }, opts);
    expect(r.priority).toBe(3);
    expect(priorities(fake.webAcl('explicit').webAcl.Rules!)).toEqual([0, 5, 10, 3]);
  });

  it('retries after a lock-token conflict, re-reading the web ACL so the other change is kept', async () => {
    fake.addWebAcl({ name: 'busy', rules: existingRules(), extra: webAclExtras });
    const sneaky = rule(byteMatch('/wp-login.php', field.uri(), 'EXACTLY'), {
      name: 'someone-else',
      priority: 20,
    });
    fake.injectConcurrentChange({ name: 'busy' }, (doc) => {
      doc.Rules = [...(doc.Rules ?? []), sneaky];
    });
    const slept: number[] = [];
    const { opts } = options(fake, { sleep: async (ms) => void slept.push(ms) });
    const start = fake.calls.length;
    const r = await deployRule(acl('busy'), { rule: cveRule('CVE-2021-44228') }, opts);
    expect(r).toMatchObject({ outcome: 'updated', attempts: 2, priority: 21 });
    expect(slept).toHaveLength(1);
    const calls = fake.calls.slice(start);
    expect(calls.map((c) => `${c.operation}${c.error ? `:${c.error}` : ''}`)).toEqual([
      'ListWebACLs',
      'GetWebACL',
      'CheckCapacity',
      'UpdateWebACL:WAFOptimisticLockException',
      'GetWebACL',
      'CheckCapacity',
      'UpdateWebACL',
    ]);
    const rules = fake.webAcl('busy').webAcl.Rules!;
    expect(rules.map((x) => x.Name)).toEqual([
      'AWS-AWSManagedRulesCommonRuleSet',
      'block-admin',
      'count-legacy',
      'someone-else',
      'wafgen-CVE-2021-44228',
    ]);
    expectUniquePriorities(rules);
  });

  it('gives up after the configured attempts when the target keeps changing', async () => {
    fake.addWebAcl({ name: 'hot', rules: [] });
    fake.injectConcurrentChange({ name: 'hot' }, undefined, 10);
    const { opts } = options(fake, { retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 2 } });
    const before = fake.callsOf('UpdateWebACL').length;
    const e = await deployRule(acl('hot'), { rule: cveRule('CVE-2021-44228') }, opts).catch(
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(DeployError);
    expect(e).toMatchObject({ code: 'conflict', awsError: 'WAFOptimisticLockException' });
    expect(fake.callsOf('UpdateWebACL').length - before).toBe(3);
  });

  it('waits between conflicts on the injected sleep: doubling from baseDelayMs, half jitter, capped', async () => {
    fake.addWebAcl({ name: 'churn', rules: [] });
    fake.injectConcurrentChange({ name: 'churn' }, undefined, 10);
    const slept: number[] = [];
    const { opts } = options(fake, {
      retry: { attempts: 4, baseDelayMs: 100, maxDelayMs: 150 },
      sleep: async (ms) => void slept.push(ms),
    });
    const e = await deployRule(acl('churn'), { rule: cveRule('CVE-2021-44228') }, opts).catch(
      (x: unknown) => x,
    );
    expect(e).toMatchObject({ code: 'conflict', message: expect.stringContaining('on all 4 attempts') });
    // One wait between each two of the 4 attempts, none after the last; ceilings 100, 150 (cap), 150.
    expect(slept).toHaveLength(3);
    [100, 150, 150].forEach((ceiling, i) => {
      expect(slept[i]).toBeGreaterThanOrEqual(ceiling / 2);
      expect(slept[i]).toBeLessThanOrEqual(ceiling);
    });
  });

  it('stops on capacity: AWS refusing the update, or CheckCapacity over a rule group capacity', async () => {
    fake.addWebAcl({ name: 'full', rules: existingRules(), extra: webAclExtras });
    const { opts } = options(fake);
    fake.webAclCapacityLimit = 720;
    try {
      const e = await deployRule(acl('full'), { rule: cveRule('CVE-2021-44228') }, opts).catch(
        (x: unknown) => x,
      );
      expect(e).toBeInstanceOf(DeployError);
      expect(e).toMatchObject({ code: 'capacity', awsError: 'WAFLimitsExceededException' });
    } finally {
      fake.webAclCapacityLimit = 5000;
    }
    expect(fake.webAcl('full').webAcl.Rules).toHaveLength(3);

    fake.addRuleGroup({
      name: 'small',
      capacity: 39,
      rules: [rule(byteMatch('/x', field.uri(), 'CONTAINS'), { name: 'x', priority: 0 })],
    });
    const updates = fake.callsOf('UpdateRuleGroup').length;
    const e2 = await deployRule(
      { kind: 'rule-group', nameOrArn: 'small', region: 'us-east-1' },
      { rule: cveRule('CVE-2021-44228') },
      opts,
    ).catch((x: unknown) => x);
    expect(e2).toMatchObject({ code: 'capacity' });
    expect((e2 as Error).message).toMatch(
      /rule group small \(REGIONAL, us-east-1\) would need 40 WCU after the change \(now 10\), over its limit of 39/,
    );
    expect(fake.callsOf('UpdateRuleGroup').length).toBe(updates);
  });

  it('refuses a rule too big for the rule group by its local WCU before asking AWS', async () => {
    fake.addRuleGroup({ name: 'tiny', capacity: 5 });
    const { opts } = options(fake);
    const checks = fake.callsOf('CheckCapacity').length;
    const e = await deployRule(
      { kind: 'rule-group', nameOrArn: 'tiny', region: 'us-east-1' },
      { rule: cveRule('CVE-2021-44228') },
      opts,
    ).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'capacity' });
    expect((e as Error).message).toMatch(/needs 30 WCU, more than the 5 WCU rule group tiny/);
    expect(fake.callsOf('CheckCapacity').length).toBe(checks);
  });
});

describe('promote and rollback', () => {
  it('promote switches the rule from Count to Block, and nothing else', async () => {
    fake.addWebAcl({ name: 'promote', rules: existingRules(), extra: webAclExtras });
    const { opts } = options(fake);
    await deployRule(acl('promote'), { rule: cveRule('CVE-2021-44228') }, opts);
    const before = fake.webAcl('promote').webAcl.Rules!;
    const r = await promoteRule(acl('promote'), { ruleName: 'wafgen-CVE-2021-44228' }, opts);
    expect(r).toMatchObject({ outcome: 'updated', action: 'Block', priority: 11 });
    expect(r.changes).toEqual([
      expect.objectContaining({
        change: 'changed',
        fields: ['Action'],
        actionBefore: 'Count',
        actionAfter: 'Block',
      }),
    ]);
    const after = fake.webAcl('promote').webAcl.Rules!;
    expect(after.slice(0, 3)).toEqual(before.slice(0, 3));
    expect(after[3]).toEqual({ ...before[3], Action: { Block: {} } });
    expect((await promoteRule(acl('promote'), { ruleName: 'wafgen-CVE-2021-44228' }, opts)).outcome).toBe(
      'unchanged',
    );
    const missing = await promoteRule(acl('promote'), { ruleName: 'wafgen-CVE-1999-0001' }, opts).catch(
      (e: unknown) => e,
    );
    expect(missing).toMatchObject({ code: 'not-found' });
  });

  it('promote --soak waits out the soak period and refuses while sampled requests matched', async () => {
    const seeded = fake.addWebAcl({ name: 'soak', rules: existingRules(), extra: webAclExtras });
    const { opts, clock } = options(fake);
    const name = 'wafgen-CVE-2021-44228';
    await deployRule(acl('soak'), { rule: cveRule('CVE-2021-44228') }, opts);
    const deployedAt = clock.now();
    clock.advance(10);
    const early = await promoteRule(acl('soak'), { ruleName: name, soakMinutes: 60 }, opts).catch(
      (e: unknown) => e,
    );
    expect(early).toMatchObject({ code: 'soak' });
    expect((early as Error).message).toMatch(
      /in Count for 10 of the 60 soak minutes; promote after 2026-03-01T13:00:00.000Z/,
    );
    clock.advance(55);
    // A match before the rule went into Count does not count; one after it does.
    fake.addSamples('soak', name, [
      { at: new Date(deployedAt.getTime() - 5 * 60_000), uri: '/old' },
      {
        at: new Date(deployedAt.getTime() + 30 * 60_000),
        uri: '/search?q=${jndi:ldap://x}',
        clientIp: '198.51.100.7',
      },
    ]);
    const matched = (await promoteRule(acl('soak'), { ruleName: name, soakMinutes: 60 }, opts).catch(
      (e: unknown) => e,
    )) as DeployError;
    expect(matched).toMatchObject({ code: 'soak' });
    expect(matched.message).toMatch(/1 sampled request matched wafgen-CVE-2021-44228 while in Count/);
    expect(matched.message).toContain('GET /search?q=${jndi:ldap://x} from 198.51.100.7');
    expect(matched.details).toMatchObject({ soak: { matches: 1, countSince: deployedAt.toISOString() } });
    const call = fake.callsOf('GetSampledRequests').at(-1)!;
    expect(call.body).toMatchObject({
      WebAclArn: seeded.arn,
      RuleMetricName: name,
      Scope: 'REGIONAL',
      TimeWindow: { StartTime: deployedAt.getTime() / 1000, EndTime: clock.now().getTime() / 1000 },
    });
    expect(fake.webAcl('soak').webAcl.Rules![3]!.Action).toEqual({ Count: {} });
  });

  it('promote --soak promotes after a clean soak, and needs a deployment record and a web ACL', async () => {
    fake.addWebAcl({ name: 'clean', rules: existingRules(), extra: webAclExtras });
    const { opts, clock } = options(fake);
    const name = 'wafgen-CVE-2021-44228';
    const unknown = await promoteRule(acl('clean'), { ruleName: name, soakMinutes: 30 }, opts).catch(
      (e: unknown) => e,
    );
    expect(unknown).toMatchObject({ code: 'not-found' });
    await deployRule(acl('clean'), { rule: cveRule('CVE-2021-44228') }, { ...opts, history: undefined });
    const noRecord = await promoteRule(acl('clean'), { ruleName: name, soakMinutes: 30 }, opts).catch(
      (e: unknown) => e,
    );
    expect((noRecord as Error).message).toMatch(/no record of when wafgen-CVE-2021-44228 went into Count/);
    await deployRule(acl('clean'), { rule: cveRule('CVE-2021-44228', '${jndi:ldap') }, opts);
    clock.advance(31);
    const r = await promoteRule(acl('clean'), { ruleName: name, soakMinutes: 30 }, opts);
    expect(r).toMatchObject({ outcome: 'updated', action: 'Block', soak: { matches: 0, minutes: 30 } });
    const group = await promoteRule(
      { kind: 'rule-group', nameOrArn: 'any' },
      { ruleName: name, soakMinutes: 30 },
      opts,
    ).catch((e: unknown) => e);
    expect(group).toBeInstanceOf(InputError);
    const tooLong = await promoteRule(acl('clean'), { ruleName: name, soakMinutes: 500 }, opts).catch(
      (e: unknown) => e,
    );
    expect(tooLong).toBeInstanceOf(InputError);
  });

  it('rollback restores the previous version (in the action it had here), then removes the first', async () => {
    fake.addWebAcl({ name: 'rollback', rules: existingRules(), extra: webAclExtras });
    const { opts, history } = options(fake);
    const v1 = cveRule('CVE-2021-44228', '${jndi:');
    const v2 = rule(
      byteMatch('${jndi:', field.headers(), 'CONTAINS', tt('URL_DECODE', 'LOWERCASE', 'HTML_ENTITY_DECODE')),
      {
        name: 'wafgen-CVE-2021-44228',
      },
    );
    const versions = [
      { version: 1, rule: v1 },
      { version: 2, rule: v2 },
    ];
    const cveId = 'CVE-2021-44228';
    await deployRule(acl('rollback'), { rule: v1, cveId, version: 1 }, opts);
    await promoteRule(acl('rollback'), { ruleName: v1.Name, cveId }, opts);
    await deployRule(acl('rollback'), { rule: v2, cveId, version: 2 }, opts);
    expect(fake.webAcl('rollback').webAcl.Rules![3]).toMatchObject({ Action: { Count: {} }, Priority: 11 });

    const back = await rollbackRule(acl('rollback'), { ruleName: v1.Name, cveId, versions }, opts);
    expect(back).toMatchObject({ outcome: 'updated', version: 1, action: 'Block', priority: 11 });
    expect(fake.webAcl('rollback').webAcl.Rules![3]).toEqual({ ...v1, Priority: 11, Action: { Block: {} } });
    expect(history.events[0]).toMatchObject({ operation: 'rollback', version: 1, action: 'Block', cveId });

    const gone = await rollbackRule(acl('rollback'), { ruleName: v1.Name, cveId, versions }, opts);
    expect(gone).toMatchObject({ outcome: 'updated', removed: true });
    const rules = fake.webAcl('rollback').webAcl.Rules!;
    expect(rules.map((r) => r.Name)).toEqual([
      'AWS-AWSManagedRulesCommonRuleSet',
      'block-admin',
      'count-legacy',
    ]);
    const nothing = await rollbackRule(acl('rollback'), { ruleName: v1.Name, cveId, versions }, opts).catch(
      (e: unknown) => e,
    );
    expect(nothing).toMatchObject({ code: 'not-found' });
  });
});

describe('dry run, scopes, rule groups, errors', () => {
  it('dry run prints the diff and capacity without updating', async () => {
    fake.addWebAcl({ name: 'dry', rules: existingRules(), extra: webAclExtras });
    const { opts } = options(fake);
    await deployRule(acl('dry'), { rule: cveRule('CVE-2021-44228') }, opts);
    await promoteRule(acl('dry'), { ruleName: 'wafgen-CVE-2021-44228' }, opts);
    const lock = fake.webAcl('dry').lockToken;
    const updates = fake.callsOf('UpdateWebACL').length;
    const added = await deployRule(
      acl('dry'),
      { rule: cveRule('CVE-2022-22965', 'class.module.classLoader') },
      { ...opts, dryRun: true },
    );
    const changed = await deployRule(
      acl('dry'),
      { rule: cveRule('CVE-2021-44228', '${jndi:ldap') },
      { ...opts, dryRun: true },
    );
    expect(fake.callsOf('UpdateWebACL').length).toBe(updates);
    expect(fake.webAcl('dry').lockToken).toBe(lock);
    expect(added.outcome).toBe('dry-run');
    const text = formatDeployResult(added);
    expect(text).toContain('web ACL dry (REGIONAL, us-east-1): dry run: nothing sent');
    expect(text).toContain('+ wafgen-CVE-2022-22965  priority 12, Count');
    expect(text).toContain('4 other rules unchanged');
    expect(text).toContain(
      "capacity: 745 → 775 WCU of 5000 (wafgen-CVE-2022-22965: 30 WCU by wafgen's count)",
    );
    const diff = formatDeployResult(changed);
    expect(diff).toContain('~ wafgen-CVE-2021-44228  priority 11, Block → Count; changed: Action, Statement');
    expect(diff).toMatch(/- +"SearchString": "\$\{jndi:",/);
    expect(diff).toMatch(/\+ +"SearchString": "\$\{jndi:ldap",/);
    expect(diff).toMatch(/- +"Block": \{\}/);
    expect(diff).toMatch(/\+ +"Count": \{\}/);
    const removal = await rollbackRule(
      acl('dry'),
      { ruleName: 'wafgen-CVE-2021-44228' },
      { ...opts, dryRun: true },
    );
    expect(formatDeployResult(removal)).toContain('- wafgen-CVE-2021-44228  priority 11, Block');
    expect(removal.capacity).toMatchObject({ before: 745, after: 715 });
  });

  it('CLOUDFRONT scope is always called in us-east-1, by name or by global ARN', async () => {
    const seeded = fake.addWebAcl({
      name: 'cdn',
      scope: 'CLOUDFRONT',
      rules: existingRules(),
      extra: webAclExtras,
    });
    expect(seeded.arn).toMatch(/^arn:aws:wafv2:us-east-1:123456789012:global\/webacl\/cdn\//);
    const { opts } = options(fake);
    const start = fake.calls.length;
    const r = await deployRule(
      { kind: 'web-acl', nameOrArn: 'cdn', scope: 'CLOUDFRONT', region: 'eu-west-1' },
      { rule: cveRule('CVE-2021-44228') },
      opts,
    );
    expect(r).toMatchObject({
      outcome: 'updated',
      target: { scope: 'CLOUDFRONT', region: 'us-east-1', arn: seeded.arn },
    });
    expect(r.notes).toContain('scope CLOUDFRONT is managed in us-east-1; Region eu-west-1 ignored');
    const calls = fake.calls.slice(start);
    expect(calls.every((c) => c.region === 'us-east-1')).toBe(true);
    expect(calls.map((c) => (c.body as { Scope?: string }).Scope)).toEqual(calls.map(() => 'CLOUDFRONT'));
    const byArn = await promoteRule(
      { kind: 'web-acl', nameOrArn: seeded.arn },
      { ruleName: 'wafgen-CVE-2021-44228' },
      opts,
    );
    expect(byArn).toMatchObject({ outcome: 'updated', target: { scope: 'CLOUDFRONT', region: 'us-east-1' } });
    expect(fake.webAcl('cdn', { scope: 'CLOUDFRONT' }).webAcl.Rules![3]!.Action).toEqual({ Block: {} });
  });

  it('deploys into a rule group by ARN (UpdateRuleGroup), or creates a missing one', async () => {
    const group = fake.addRuleGroup({
      name: 'patches',
      region: 'eu-west-1',
      capacity: 500,
      rules: [cveRule('CVE-2017-5638', 'multipart/form-data')].map((r) => ({ ...r, Priority: 3 })),
      description: 'virtual patches',
    });
    const { opts } = options(fake);
    const r = await deployRule(
      { kind: 'rule-group', nameOrArn: group.arn },
      { rule: cveRule('CVE-2021-44228') },
      opts,
    );
    expect(r).toMatchObject({
      outcome: 'updated',
      priority: 4,
      target: { kind: 'rule-group', region: 'eu-west-1' },
    });
    expect(r.capacity).toEqual({ rule: 30, before: 30, after: 60, limit: 500 });
    expect(fake.callsOf('UpdateRuleGroup').at(-1)!.region).toBe('eu-west-1');
    const g = fake.ruleGroup('patches', { region: 'eu-west-1' }).ruleGroup;
    expect(g).toMatchObject({ Description: 'virtual patches', Capacity: 500 });
    expect(g.Rules!.map((x) => [x.Name, x.Priority, Object.keys(x.Action!)[0]])).toEqual([
      ['wafgen-CVE-2017-5638', 3, 'Block'],
      ['wafgen-CVE-2021-44228', 4, 'Count'],
    ]);

    const created = await deployRule(
      { kind: 'rule-group', nameOrArn: 'new-patches', region: 'eu-west-1' },
      { rule: cveRule('CVE-2021-44228'), createCapacity: 100 },
      opts,
    );
    expect(created.notes).toContain(
      'created rule group new-patches (REGIONAL, eu-west-1) with capacity 100 WCU',
    );
    expect(fake.ruleGroup('new-patches', { region: 'eu-west-1' }).ruleGroup.Rules).toHaveLength(1);
  });

  it('finds a web ACL by name across List pages', async () => {
    fake.pageSize = 1;
    try {
      for (const n of ['page-a', 'page-b', 'page-c']) fake.addWebAcl({ name: n, region: 'ap-south-1' });
      const { opts } = options(fake);
      const r = await deployRule(
        { kind: 'web-acl', nameOrArn: 'page-c', region: 'ap-south-1' },
        { rule: cveRule('CVE-2021-44228') },
        opts,
      );
      expect(r).toMatchObject({ outcome: 'updated', priority: 0 });
      expect(fake.callsOf('ListWebACLs').filter((c) => c.region === 'ap-south-1')).toHaveLength(3);
    } finally {
      fake.pageSize = 100;
    }
  });

  it('one clear error for each kind of bad input or refusal', async () => {
    const { opts } = options(fake);
    const attempt = (target: DeployTarget, r: Rule = cveRule('CVE-2021-44228')) =>
      deployRule(target, { rule: r }, opts).then(
        (): Error => {
          throw new Error('expected a failure');
        },
        (e: unknown) => e as Error,
      );
    const missing = await attempt(acl('no-such-acl'));
    expect(missing).toMatchObject({
      code: 'not-found',
      message: 'web ACL no-such-acl (REGIONAL, us-east-1) not found',
    });
    expect(await attempt(acl('arn:aws:wafv2:bad'))).toBeInstanceOf(InputError);
    expect(await attempt(acl('bad name!'))).toBeInstanceOf(InputError);
    const wrongKind = await attempt(
      acl('arn:aws:wafv2:us-east-1:123456789012:regional/rulegroup/g/00000000-0000-4000-8000-000000000000'),
    );
    expect(wrongKind.message).toMatch(/is a rule group ARN, not a web ACL ARN/);
    const conflicting = await attempt({
      kind: 'web-acl',
      nameOrArn: 'arn:aws:wafv2:us-east-1:123456789012:global/webacl/x/00000000-0000-4000-8000-000000000000',
      scope: 'REGIONAL',
    });
    expect(conflicting.message).toMatch(/scope REGIONAL contradicts the ARN, which is CLOUDFRONT/);
    const goneById = await attempt(
      acl('arn:aws:wafv2:us-east-1:123456789012:regional/webacl/x/00000000-0000-4000-8000-000000000000'),
    );
    expect(goneById).toMatchObject({ code: 'not-found', awsError: 'WAFNonexistentItemException' });
    fake.addWebAcl({ name: 'valid-only' });
    const invalid = await attempt(acl('valid-only'), {
      ...cveRule('CVE-2021-44228'),
      VisibilityConfig: {
        SampledRequestsEnabled: true,
        CloudWatchMetricsEnabled: true,
        MetricName: 'bad metric',
      },
    });
    expect(invalid).toBeInstanceOf(InputError);
    expect(invalid.message).toMatch(/is not a valid WAFv2 rule: \$\.VisibilityConfig\.MetricName/);
  });
});
