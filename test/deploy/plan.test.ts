// The pure parts of deployment: targets and ARNs, priority allocation, rule diffs, SearchString bytes.
import type { Rule as SdkRule } from '@aws-sdk/client-wafv2';
import { describe, expect, it } from 'vitest';

import { InputError } from '../../src/core/errors.js';
import {
  actionName,
  diffRules,
  fromSdkRule,
  nextFreePriority,
  parseWafArn,
  placeRule,
  resolveTarget,
  toSdkRule,
  DeployError,
} from '../../src/deploy/index.js';
import { lineDiff } from '../../src/deploy/format.js';
import { byteMatch, field, rule } from '../support/rules.js';

const sdk = (name: string, priority: number, action: 'Block' | 'Count' = 'Block'): SdkRule =>
  toSdkRule(rule(byteMatch(name, field.uri()), { name, priority, action: { [action]: {} } }));

describe('targets', () => {
  it('parses regional and global ARNs', () => {
    expect(
      parseWafArn(
        'arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/prod/0f6a1bd0-2b43-4a5e-9f4a-0a1b2c3d4e5f',
      ),
    ).toEqual({
      partition: 'aws',
      region: 'eu-west-1',
      account: '123456789012',
      scope: 'REGIONAL',
      kind: 'web-acl',
      name: 'prod',
      id: '0f6a1bd0-2b43-4a5e-9f4a-0a1b2c3d4e5f',
    });
    expect(
      parseWafArn(
        'arn:aws:wafv2:us-east-1:123456789012:global/rulegroup/edge/0f6a1bd0-2b43-4a5e-9f4a-0a1b2c3d4e5f',
      ),
    ).toMatchObject({ scope: 'CLOUDFRONT', kind: 'rule-group' });
    expect(
      parseWafArn(
        'arn:aws:wafv2:us-east-1:123456789012:regional/ipset/x/0f6a1bd0-2b43-4a5e-9f4a-0a1b2c3d4e5f',
      ),
    ).toBe(undefined);
  });

  it('settles scope and Region: CLOUDFRONT is us-east-1, an ARN wins over defaults', () => {
    expect(resolveTarget({ kind: 'web-acl', nameOrArn: 'prod' })).toMatchObject({
      scope: 'REGIONAL',
      region: undefined,
    });
    const cf = resolveTarget({
      kind: 'web-acl',
      nameOrArn: 'prod',
      scope: 'CLOUDFRONT',
      region: 'eu-west-1',
    });
    expect(cf).toMatchObject({ scope: 'CLOUDFRONT', region: 'us-east-1' });
    expect(cf.notes).toEqual(['scope CLOUDFRONT is managed in us-east-1; Region eu-west-1 ignored']);
    const arn =
      'arn:aws:wafv2:ap-south-1:123456789012:regional/webacl/prod/0f6a1bd0-2b43-4a5e-9f4a-0a1b2c3d4e5f';
    expect(resolveTarget({ kind: 'web-acl', nameOrArn: arn })).toMatchObject({
      region: 'ap-south-1',
      id: '0f6a1bd0-2b43-4a5e-9f4a-0a1b2c3d4e5f',
      arn,
    });
    expect(() => resolveTarget({ kind: 'web-acl', nameOrArn: arn, region: 'eu-west-1' })).toThrow(
      /Region eu-west-1 contradicts the ARN, which is in ap-south-1/,
    );
    expect(() => resolveTarget({ kind: 'rule-group', nameOrArn: arn })).toThrow(InputError);
  });
});

describe('priorities', () => {
  const rules = [sdk('a', 0), sdk('b', 7), sdk('c', 3)];

  it('a new rule goes after every existing one; nothing else moves', () => {
    expect(nextFreePriority([])).toBe(0);
    const placed = placeRule(rules, sdk('new', 0, 'Count'));
    expect(placed.priority).toBe(8);
    expect(placed.rules.map((r) => [r.Name, r.Priority])).toEqual([
      ['a', 0],
      ['b', 7],
      ['c', 3],
      ['new', 8],
    ]);
    expect(placed.rules.slice(0, 3)).toEqual(rules);
  });

  it('a free explicit priority is used, a taken one refused', () => {
    expect(placeRule(rules, sdk('new', 0), { priority: 5 }).priority).toBe(5);
    expect(() => placeRule(rules, sdk('new', 0), { priority: 7 })).toThrow(DeployError);
  });

  it('a rule of the same name is replaced in place and keeps its priority', () => {
    const placed = placeRule(rules, sdk('b', 99, 'Count'), { priority: 1 });
    expect(placed.priority).toBe(7);
    expect(placed.rules.map((r) => [r.Name, r.Priority, actionName(r)])).toEqual([
      ['a', 0, 'Block'],
      ['b', 7, 'Count'],
      ['c', 3, 'Block'],
    ]);
    expect(placed.notes).toEqual(['b keeps its priority 7 (--priority applies to new rules only)']);
  });
});

describe('diffs and conversions', () => {
  it('reports added, changed (with the fields) and removed rules by name', () => {
    const before = [sdk('a', 0), sdk('b', 1), sdk('c', 2)];
    const after = [sdk('a', 0), { ...sdk('b', 1), Action: { Count: {} } }, sdk('d', 3, 'Count')];
    expect(diffRules(before, after)).toEqual([
      {
        change: 'changed',
        name: 'b',
        priority: 1,
        fields: ['Action'],
        actionBefore: 'Block',
        actionAfter: 'Count',
      },
      { change: 'added', name: 'd', priority: 3, fields: [], actionAfter: 'Count' },
      { change: 'removed', name: 'c', priority: 2, fields: [], actionBefore: 'Block' },
    ]);
    expect(
      diffRules(
        before,
        before.map((r) => ({ ...r })),
      ),
    ).toEqual([]);
  });

  it('SearchString is text in wafgen, bytes in the SDK, and round-trips', () => {
    const r = rule(byteMatch('café ${jndi:', field.uri()), { name: 'x' });
    const s = toSdkRule(r);
    expect(s.Statement!.ByteMatchStatement!.SearchString).toEqual(
      new Uint8Array(Buffer.from('café ${jndi:')),
    );
    expect(fromSdkRule(s)).toEqual(r);
    const nested = toSdkRule(
      rule({ NotStatement: { Statement: byteMatch('/admin', field.uri()) } }, { name: 'n' }),
    );
    expect(nested.Statement!.NotStatement!.Statement!.ByteMatchStatement!.SearchString).toBeInstanceOf(
      Uint8Array,
    );
  });

  it('line diff marks removed and added lines', () => {
    expect(lineDiff(['a', 'b', 'c'], ['a', 'x', 'c'])).toEqual(['  a', '- b', '+ x', '  c']);
  });

  it('line diff keeps two lines of context around each change, … between hunks, removals first', () => {
    const a = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11', '12'];
    const b = ['1', 'x', 'y', '3', '4', '5', '6', '7', '8', '9', '10', '11', '12', '13'];
    expect(lineDiff(a, b)).toEqual(['  1', '- 2', '+ x', '+ y', '  3', '  4', '  …', '  11', '  12', '+ 13']);
    // Changes four unchanged lines apart stay in one hunk.
    expect(lineDiff(['a', '1', '2', '3', '4', 'b'], ['A', '1', '2', '3', '4', 'B'])).toEqual([
      '- a',
      '+ A',
      '  1',
      '  2',
      '  3',
      '  4',
      '- b',
      '+ B',
    ]);
    expect(lineDiff(a, a)).toEqual([]);
    expect(lineDiff([], ['a'])).toEqual(['+ a']);
    expect(lineDiff(['a'], [])).toEqual(['- a']);
  });

  it('line diff gives up (null) when the inputs differ too much to be worth printing', () => {
    const a = Array.from({ length: 3_000 }, (_, i) => `old ${i}`);
    const b = Array.from({ length: 3_000 }, (_, i) => `new ${i}`);
    expect(lineDiff(a, b)).toBeNull();
    const c = [...a];
    c[1_500] = 'changed';
    expect(lineDiff(a, c)).toEqual([
      '  old 1498',
      '  old 1499',
      '- old 1500',
      '+ changed',
      '  old 1501',
      '  old 1502',
    ]);
  });
});
