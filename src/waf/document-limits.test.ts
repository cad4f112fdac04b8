import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

import { and, byteMatch, field, not, or, rule, tt } from '../../test/support/rules.js';
import { InputLimitError } from '../core/limits.js';
import { compileDocument } from '../evaluator/index.js';
import { validateRuleDocument } from '../lint/validate.js';
import { decodeStrictBase64 } from './blobs.js';
import { checkCapacity } from './capacity.js';
import { checkDocumentLimits } from './document-limits.js';
import type { Rule, Statement, WafDocument } from './schema.js';

const leaf = byteMatch('jndi', field.uri(), 'EXACTLY');
const nest = (levels: number, wrap: (s: Statement) => Statement): Statement => {
  let s = leaf;
  for (let i = 0; i < levels; i++) s = wrap(s);
  return s;
};
const andChain = (s: Statement) => and(s, leaf);
const thrown = (f: () => unknown): unknown => {
  try {
    f();
  } catch (e) {
    return e;
  }
  return undefined;
};
const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`../../test/fixtures/rules/${name}`, import.meta.url), 'utf8'));
const webAcl = (Rules: Rule[]) => ({
  Name: 'acl',
  DefaultAction: { Allow: {} },
  Rules,
  VisibilityConfig: { SampledRequestsEnabled: false, CloudWatchMetricsEnabled: false, MetricName: 'acl' },
});

describe('checkDocumentLimits', () => {
  it.each([
    ['NotStatement', not],
    ['AndStatement', andChain],
  ])('allows 64 levels of %s below the top statement, refuses 65', (_kind, wrap) => {
    expect(() => checkDocumentLimits(rule(nest(64, wrap)))).not.toThrow();
    const err = thrown(() => checkDocumentLimits(rule(nest(65, wrap)), { source: 'rule.json' }));
    expect(err).toBeInstanceOf(InputLimitError);
    expect((err as Error).message).toMatch(
      /^rule\.json: input exceeds WAFGEN limit statement-depth=64 \(statements nested 65 levels deep at \$\.Statement\./,
    );
    // One line of bounded length however deep the path.
    expect((err as Error).message.length).toBeLessThan(260);
  });

  it('agrees with the evaluator: what passes compiles, and the evaluator refuses one level more', () => {
    for (const wrap of [not, andChain]) {
      expect(() => compileDocument({ kind: 'rule', rule: rule(nest(64, wrap)) })).not.toThrow();
      expect(() => compileDocument({ kind: 'rule', rule: rule(nest(65, wrap)) })).toThrow(/statement-depth/);
    }
    const wide = (n: number) => rule(or(...Array.from({ length: n - 1 }, () => leaf)));
    expect(() => checkDocumentLimits(wide(10_000))).not.toThrow();
    expect(() => compileDocument({ kind: 'rule', rule: wide(10_000) })).not.toThrow();
    expect(() => checkDocumentLimits(wide(10_001))).toThrow(
      /statements-per-rule=10000 \(more than 10000 statements in the rule at \$\)/,
    );
    expect(() => compileDocument({ kind: 'rule', rule: wide(10_001) })).toThrow(/statements-per-rule/);
  });

  it('counts statements per rule, scope-down statements included, and names the rule', () => {
    const big = rule(or(...Array.from({ length: 6_000 }, () => leaf)));
    // Two rules of 6,001 statements each: each is within the limit.
    expect(() => checkDocumentLimits([big, { ...big, Priority: 1 }])).not.toThrow();
    const scoped: Rule = {
      ...big,
      Statement: {
        RateBasedStatement: {
          Limit: 100,
          AggregateKeyType: 'IP',
          ScopeDownStatement: or(...Array.from({ length: 10_000 }, () => leaf)),
        },
      },
    };
    expect(() => checkDocumentLimits(webAcl([big, scoped]))).toThrow(/in the rule at \$\.Rules\[1\]/);
  });

  it('allows 10,000 rules in a list or a web ACL, refuses 10,001', () => {
    const rules = (n: number) => Array.from({ length: n }, (_, i) => rule(leaf, { priority: i }));
    expect(() => checkDocumentLimits(rules(10_000))).not.toThrow();
    expect(() => checkDocumentLimits(rules(10_001))).toThrow(/WAFGEN limit rules=10000/);
    expect(() => checkDocumentLimits({ WebACL: webAcl(rules(10_001)) })).toThrow(/rules=10000/);
  });

  it('runs first in validateRuleDocument, so a hostile document throws instead of overflowing', () => {
    let deep: unknown = {};
    for (let i = 0; i < 100_000; i++) deep = { Statement: { NotStatement: deep } };
    expect(thrown(() => validateRuleDocument(deep))).toBeInstanceOf(InputLimitError);
    expect(thrown(() => validateRuleDocument(rule(nest(200, not))))).toMatchObject({
      limit: 'statement-depth',
      status: 400,
    });
  });
});

describe('checkCapacity', () => {
  const contains = byteMatch('x', field.uri(), 'CONTAINS', tt('LOWERCASE')); // 20 WCU
  const rules = (n: number, s: Statement = contains) =>
    Array.from({ length: n }, (_, i) => rule(s, { name: `r${i}`, priority: i }));
  const codes = (doc: WafDocument) => checkCapacity(doc).findings.map((f) => `${f.severity} ${f.code}`);

  it('holds a rule group to the Capacity it declared', () => {
    const group = (Capacity: number): WafDocument => ({
      kind: 'rule-group',
      ruleGroup: {
        Name: 'g',
        Capacity,
        Rules: rules(3),
        VisibilityConfig: { SampledRequestsEnabled: false, CloudWatchMetricsEnabled: false, MetricName: 'g' },
      },
    });
    expect(codes(group(60))).toEqual([]);
    const over = checkCapacity(group(59));
    expect(over.findings).toEqual([
      expect.objectContaining({
        code: 'capacity-exceeded',
        severity: 'error',
        path: '$.Capacity',
        message: "rules need 60 WCU but the rule group's Capacity is 59",
      }),
    ]);
  });

  it('bills a web ACL above 1,500 WCU and refuses it above 5,000', () => {
    const acl = (n: number): WafDocument => ({ kind: 'web-acl', webAcl: webAcl(rules(n)) });
    expect(codes(acl(75))).toEqual([]); // 1,500
    expect(codes(acl(76))).toEqual(['warning capacity-billing']);
    expect(codes(acl(250))).toEqual(['warning capacity-billing']); // 5,000
    expect(codes(acl(251))).toEqual(['error capacity-exceeded']);
  });

  it('refuses a rule or list of rules no web ACL or rule group could hold', () => {
    expect(codes({ kind: 'rules', rules: rules(250) })).toEqual([]);
    const over = checkCapacity({ kind: 'rules', rules: rules(251) });
    expect(over.findings[0]).toMatchObject({
      code: 'capacity-exceeded',
      message: 'rules need 5020 WCU; no web ACL or rule group holds more than 5000',
    });
    const wide = rule(or(...Array.from({ length: 600 }, () => byteMatch('x'))));
    expect(codes({ kind: 'rule', rule: wide })).toEqual(['error capacity-exceeded']);
  });

  it('counts every rule as at least 1 WCU when group capacities are unknown', () => {
    const managed: Rule = {
      ...rule({ ManagedRuleGroupStatement: { VendorName: 'Acme', Name: 'Secret' } }),
      Action: undefined,
      OverrideAction: { None: {} },
    };
    const many = Array.from({ length: 5_001 }, (_, i) => ({ ...managed, Name: `m${i}`, Priority: i }));
    const check = checkCapacity({ kind: 'web-acl', webAcl: webAcl(many) });
    expect(check.wcu).toBe(0);
    expect(check.findings.filter((f) => f.severity === 'error')).toEqual([
      expect.objectContaining({
        code: 'too-many-rules',
        message: '5001 rules need at least 5001 WCU (1 each); a web ACL allows at most 5000',
      }),
    ]);
  });

  it('is what validate reports: a file of 10,000 rules is invalid, not "valid, 100,000 WCU"', () => {
    const report = validateRuleDocument(rules(10_000, byteMatch('x')));
    expect(report.valid).toBe(false);
    expect(report.wcu).toBe(100_000);
    expect(report.findings.map((f) => f.code)).toContain('capacity-exceeded');
  });
});

describe('SearchString base64 (get-* output)', () => {
  it.each([
    ['QmFkQm90', 'BadBot'],
    ['', ''],
    ['YQ==', 'a'],
    ['YWI=', 'ab'],
  ])('decodes strict base64 %j', (b64, text) => {
    expect(decodeStrictBase64(b64)?.toString('utf8')).toBe(text);
  });

  it.each(['YQ', 'YQ=', 'YR==', 'Y Q==', 'YQ==\n', 'a-_b', '!!!not base64***', 'YWJj====', 'QmFk\\QmFk'])(
    'refuses %j',
    (b64) => {
      expect(decodeStrictBase64(b64)).toBeUndefined();
    },
  );

  const withSearchString = (SearchString: string) => {
    const doc = fixture('aws-get-web-acl.json') as { WebACL: { Rules: { Statement: unknown }[] } };
    doc.WebACL.Rules[2]!.Statement = byteMatch(SearchString);
    return doc;
  };

  it('reports invalid base64 as an error at the SearchString', () => {
    const report = validateRuleDocument(withSearchString('!!!not base64***'));
    expect(report.valid).toBe(false);
    expect(report.findings).toContainEqual(
      expect.objectContaining({
        code: 'search-string-base64',
        severity: 'error',
        path: '$.WebACL.Rules[2].Statement.ByteMatchStatement.SearchString',
      }),
    );
    const explicit = validateRuleDocument(rule(byteMatch('not base64')), { searchStringEncoding: 'base64' });
    expect(explicit.findings.map((f) => f.code)).toContain('search-string-base64');
    // Written as text, the same string is text.
    const asText = validateRuleDocument(rule(byteMatch('not base64')), { searchStringEncoding: 'text' });
    expect(asText.findings.map((f) => f.code)).not.toContain('search-string-base64');
  });

  it('holds the decoded bytes to the 200-byte quota', () => {
    const ok = validateRuleDocument(withSearchString(Buffer.from('a'.repeat(200)).toString('base64')));
    expect(ok.findings.map((f) => f.code)).not.toContain('search-string-too-long');
    const long = validateRuleDocument(withSearchString(Buffer.from('a'.repeat(201)).toString('base64')));
    expect(long.findings).toContainEqual(
      expect.objectContaining({ code: 'search-string-too-long', severity: 'error' }),
    );
    const binary = validateRuleDocument(withSearchString(Buffer.alloc(201, 0xff).toString('base64')));
    expect(binary.findings).toContainEqual(
      expect.objectContaining({
        code: 'search-string-too-long',
        message: 'SearchString is 201 bytes once decoded (AWS allows 200)',
      }),
    );
    const shortBinary = validateRuleDocument(withSearchString(Buffer.from([0xff, 0xfe]).toString('base64')));
    expect(shortBinary.findings).toContainEqual(
      expect.objectContaining({ code: 'search-string-encoding', severity: 'warning' }),
    );
  });
});
