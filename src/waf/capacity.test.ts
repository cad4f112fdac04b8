import { describe, expect, it } from 'vitest';

import { and, byteMatch, field, not, or, regex, rule, tt } from '../../test/support/rules.js';
import { documentCapacity, ruleCapacity, statementCapacity } from './capacity.js';
import type { Statement } from './schema.js';

const wcu = (s: Statement) => statementCapacity(s).wcu;

// Worked examples follow the "Rule statement characteristics" of each statement in the AWS WAF
// Developer Guide: base cost, +10 per text transformation, +10 for All query parameters, JSON body
// doubles the base cost.
describe('WCU per AWS published costs', () => {
  it('string match: 2 for exact/starts/ends, 10 for contains/contains word', () => {
    expect(wcu(byteMatch('x', field.uri(), 'EXACTLY'))).toBe(2);
    expect(wcu(byteMatch('x', field.uri(), 'STARTS_WITH'))).toBe(2);
    expect(wcu(byteMatch('x', field.uri(), 'ENDS_WITH'))).toBe(2);
    expect(wcu(byteMatch('x', field.uri(), 'CONTAINS'))).toBe(10);
    expect(wcu(byteMatch('x', field.uri(), 'CONTAINS_WORD'))).toBe(10);
  });

  it('adds 10 per text transformation; NONE applies nothing and costs nothing', () => {
    expect(wcu(byteMatch('x', field.uri(), 'CONTAINS', tt('URL_DECODE', 'LOWERCASE')))).toBe(30);
    expect(wcu(byteMatch('x', field.uri(), 'EXACTLY', tt('NONE')))).toBe(2);
  });

  it('adds 10 for all query parameters and doubles the base for JSON body', () => {
    expect(wcu(byteMatch('x', field.args(), 'CONTAINS', tt('URL_DECODE')))).toBe(30);
    // JSON body: base 10 doubled = 20, then +10 for one transformation.
    expect(wcu(byteMatch('x', field.json(), 'CONTAINS', tt('LOWERCASE')))).toBe(30);
    expect(
      wcu({
        SizeConstraintStatement: {
          FieldToMatch: field.json(),
          ComparisonOperator: 'GT',
          Size: 1,
          TextTransformations: tt(),
        },
      }),
    ).toBe(2);
  });

  it('regex 3, regex pattern set 25, SQLi 20/30, XSS 40, size/geo/label/ASN 1', () => {
    expect(wcu(regex('a+b'))).toBe(3);
    expect(
      wcu({
        RegexPatternSetReferenceStatement: {
          ARN: 'arn:aws:wafv2:us-east-1:1:regional/regexpatternset/x/y',
          FieldToMatch: field.uri(),
          TextTransformations: tt(),
        },
      }),
    ).toBe(25);
    expect(
      wcu({
        SqliMatchStatement: {
          FieldToMatch: field.args(),
          TextTransformations: tt('URL_DECODE', 'HTML_ENTITY_DECODE'),
        },
      }),
    ).toBe(20 + 10 + 20);
    expect(
      wcu({
        SqliMatchStatement: {
          FieldToMatch: field.body(),
          TextTransformations: tt(),
          SensitivityLevel: 'HIGH',
        },
      }),
    ).toBe(30);
    expect(wcu({ XssMatchStatement: { FieldToMatch: field.body(), TextTransformations: tt() } })).toBe(40);
    expect(wcu({ GeoMatchStatement: { CountryCodes: ['US'] } })).toBe(1);
    expect(wcu({ LabelMatchStatement: { Scope: 'LABEL', Key: 'a' } })).toBe(1);
    expect(wcu({ AsnMatchStatement: { AsnList: [64496] } })).toBe(1);
  });

  it('IP set costs 1, or 5 when every forwarded IP is inspected (Position ANY)', () => {
    const arn = 'arn:aws:wafv2:us-east-1:123456789012:regional/ipset/x/y';
    expect(wcu({ IPSetReferenceStatement: { ARN: arn } })).toBe(1);
    expect(
      wcu({
        IPSetReferenceStatement: {
          ARN: arn,
          IPSetForwardedIPConfig: {
            HeaderName: 'X-Forwarded-For',
            FallbackBehavior: 'MATCH',
            Position: 'ANY',
          },
        },
      }),
    ).toBe(5);
  });

  it('logical statements cost the sum of their children', () => {
    const s = and(
      byteMatch('a', field.uri(), 'STARTS_WITH'),
      or(regex('x'), not(byteMatch('b', field.header('user-agent'), 'CONTAINS', tt('LOWERCASE')))),
    );
    expect(wcu(s)).toBe(2 + 3 + 20);
  });

  it('rate-based: 2, +30 per custom key (+10 per key transformation), + scope-down', () => {
    expect(wcu({ RateBasedStatement: { Limit: 100, AggregateKeyType: 'IP' } })).toBe(2);
    expect(
      wcu({
        RateBasedStatement: {
          Limit: 100,
          AggregateKeyType: 'CUSTOM_KEYS',
          CustomKeys: [
            { HTTPMethod: {} },
            { Header: { Name: 'x-api-key', TextTransformations: tt('LOWERCASE') } },
          ],
          ScopeDownStatement: byteMatch('/login', field.uri(), 'STARTS_WITH'),
        },
      }),
    ).toBe(2 + 30 + 30 + 10 + 2);
  });

  it('managed groups cost their published capacity; unknown references are reported', () => {
    const managed = statementCapacity({
      ManagedRuleGroupStatement: { VendorName: 'AWS', Name: 'AWSManagedRulesKnownBadInputsRuleSet' },
    });
    expect(managed).toEqual({ wcu: 200, unknown: [] });
    const mine = statementCapacity(
      { RuleGroupReferenceStatement: { ARN: 'arn:aws:wafv2:us-east-1:1:regional/rulegroup/g/id' } },
      {},
      ['Rules', 0, 'Statement'],
    );
    expect(mine.wcu).toBe(0);
    expect(mine.unknown).toEqual(['$.Rules[0].Statement.RuleGroupReferenceStatement']);
    const given = statementCapacity(
      { RuleGroupReferenceStatement: { ARN: 'arn:g' } },
      { groupCapacities: { 'arn:g': 75 } },
    );
    expect(given.wcu).toBe(75);
  });

  it('a document sums its rules', () => {
    const rules = [
      rule(byteMatch('a'), { name: 'a', priority: 0 }),
      rule(regex('b'), { name: 'b', priority: 1 }),
    ];
    expect(documentCapacity({ kind: 'rules', rules }).wcu).toBe(13);
    expect(ruleCapacity(rules[0]!).wcu).toBe(10);
  });

  it('handles thousands of nested statements without recursion', () => {
    let s: Statement = byteMatch('x', field.uri(), 'EXACTLY');
    for (let i = 0; i < 20_000; i++) s = not(s);
    expect(wcu(s)).toBe(2);
  });
});
