import { describe, expect, it } from 'vitest';

import { buildRequest, type HttpRequest, type RequestInit } from '../../src/requests/model.js';
import { loadBenignSample } from '../../src/generation/benign.js';
import { BuiltinEngine } from '../../src/generation/builtin/index.js';
import { classify } from '../../src/generation/builtin/classify.js';
import { endpointOf, learnEndpoints, learnTokens, looksRandom } from '../../src/generation/builtin/learn.js';
import { checkRule } from '../../src/generation/checks.js';
import { buildRule, runGeneration } from '../../src/generation/loop.js';
import { ExploitFactsSchema, VulnRecordSchema, type VulnRecord } from '../../src/vulns/model.js';

const req = (id: string, init: Partial<RequestInit> & { uri: string }): HttpRequest =>
  buildRequest({ id, method: 'GET', headers: [['Host', 'victim.example']], expect: 'block', ...init });
const record = (over: Partial<VulnRecord> = {}): VulnRecord =>
  VulnRecordSchema.parse({
    id: 'CVE-2099-1234',
    description: '',
    source: 'test',
    fetchedAt: new Date(0).toISOString(),
    ...over,
  });
const facts = ExploitFactsSchema.parse({});

describe('classify', () => {
  it('uses the record facts, then evidence labels, then CWE with the description breaking ties', () => {
    expect(
      classify(record({ exploit: ExploitFactsSchema.parse({ attackClass: 'xxe' }) }), []).attackClass,
    ).toBe('xxe');
    expect(classify(record(), [req('a', { uri: '/', class: 'sqli' })])).toMatchObject({
      attackClass: 'sqli',
      basis: 'evidence',
    });
    // CWE-917 is both JNDI and OGNL injection: the words decide.
    expect(
      classify(record({ cwes: ['CWE-917'], description: 'OGNL expression injection in Struts' }), [])
        .attackClass,
    ).toBe('expression-injection');
    expect(classify(record({ cwes: ['CWE-917'], description: 'JNDI lookup in Log4j' }), []).attackClass).toBe(
      'jndi-injection',
    );
    expect(
      classify(record({ description: 'a directory traversal lets attackers read arbitrary files' }), []),
    ).toMatchObject({ attackClass: 'path-traversal', basis: 'description' });
  });

  it('names the technique from the title, tags and product before a generic or shared CWE', () => {
    // A generic CWE (injection, CWE-74) with the technique in the title.
    expect(
      classify(
        record({
          cwes: ['CWE-74'],
          title: 'Decision Manager - JNDI Injection',
          description: 'remote code execution via an unchecked argument',
        }),
        [],
      ).attackClass,
    ).toBe('jndi-injection');
    // CWE-917 shared by JNDI and expression languages: the product's expression language decides.
    expect(
      classify(
        record({
          cwes: ['CWE-917'],
          product: 'spring_data_commons',
          description: 'a crafted request leads to remote code execution',
        }),
        [],
      ).attackClass,
    ).toBe('expression-injection');
    expect(
      classify(record({ cwes: ['CWE-917'], product: 'struts', description: 'remote code execution' }), [])
        .attackClass,
    ).toBe('expression-injection');
    // "Remote code execution" is an impact, not a technique: the serialisation words decide.
    expect(
      classify(
        record({
          cwes: ['CWE-502'],
          title: 'CMS - Remote Code Execution',
          description: 'remote code execution via a .NET deserialization vulnerability',
        }),
        [],
      ).attackClass,
    ).toBe('deserialization');
    // Tags written by scanners name the technique too.
    expect(classify(record({ tags: ['ssrf'], description: 'an API is vulnerable' }), []).attackClass).toBe(
      'ssrf',
    );
    expect(classify(record({ tags: ['fileupload'] }), []).attackClass).toBe('file-upload');
    // Authentication bypass and broken access control are a class of their own.
    expect(
      classify(
        record({
          description: 'a broken access control vulnerability lets an attacker create administrator accounts',
        }),
        [],
      ).attackClass,
    ).toBe('auth-bypass');
  });

  it('returns the other plausible techniques of an ambiguous record', () => {
    const c = classify(record({ title: 'REST API auth bypass leads to command injection' }), []);
    expect([c.attackClass, ...c.alternatives]).toEqual(
      expect.arrayContaining(['auth-bypass', 'command-injection']),
    );
    // A record that says one thing has no alternatives.
    expect(
      classify(record({ description: 'SQL injection in the search parameter' }), []).alternatives,
    ).toEqual([]);
  });
});

describe('learning from evidence', () => {
  it('cuts the endpoint at the first payload segment and keeps + literal in paths', () => {
    expect(endpointOf(req('a', { uri: '/vpn/../vpns/cfg/smb.conf' }))).toBe('/vpn');
    expect(endpointOf(req('a', { uri: '/+CSCOE+/saml/sp/acs?tgname=a' }))).toBe('/+cscoe+/saml/sp/acs');
  });

  it('learns the shortest distinctive shared tail, whatever the mount point', async () => {
    const benign = await loadBenignSample();
    const a = req('a', { uri: '/manage/log/view?filename=/etc/passwd' });
    const b = req('b', { uri: '/log/view?filename=/windows/win.ini' });
    expect(learnEndpoints([a, b], benign)).toEqual(['/log/view']);
    // Nothing shared: no endpoint rather than a wrong one.
    expect(learnEndpoints([req('c', { uri: '/a/x' }), req('d', { uri: '/b/x' })], benign)).toEqual([]);
  });

  it('ignores scanner markers, random strings and parameter names when learning tokens', async () => {
    expect(looksRandom('0i2s7h18tek5gg93zhqtwdn3cmbx0w52m')).toBe(true);
    expect(looksRandom('urexzpqk')).toBe(true);
    expect(looksRandom('class.module.classloader')).toBe(false);
    const benign = await loadBenignSample();
    const exploit = (id: string, host: string) =>
      req(id, {
        uri: `/x?class.module.classLoader.resources.context.parent.pipeline.first.pattern=%25%7Bc%7D&suffix=.jsp&cb=${host}.oast.fun`,
      });
    const learned = learnTokens([exploit('a', 'k2x9q7zrt'), exploit('b', 'k2x9q7zrt')], benign);
    const tokens = learned.tokens.map((t) => t.token);
    expect(tokens.some((t) => t.includes('oast'))).toBe(false);
    expect(tokens).not.toContain('suffix');
    expect(learned.params).toContain('suffix');
  });
});

describe('the built-in engine through the loop', () => {
  const benignPromise = loadBenignSample();

  it('generalises a path traversal PoC to encodings and path tricks, and blocks no benign request', async () => {
    const exploits = [
      req('p1', { uri: '/api/reports/download?file=../../../../etc/passwd', class: 'path-traversal' }),
      req('p2', {
        uri: '/api/reports/download?file=..%2f..%2f..%2fwindows%2fwin.ini',
        class: 'path-traversal',
      }),
    ];
    const result = await runGeneration(
      {
        record: record({ cwes: ['CWE-22'] }),
        exploits,
        facts,
        benign: await benignPromise,
        evidenceSources: ['test'],
      },
      new BuiltinEngine(),
    );
    expect(result.report).toMatchObject({
      passed: true,
      attackClass: 'path-traversal',
      attempts: 1,
      producedBy: 'builtin',
    });
    expect(result.report.tests.evidence).toMatchObject({ total: 2, blocked: 2 });
    expect(result.report.tests.variants.total).toBeGreaterThan(10);
    expect(result.report.tests.variants.blocked / result.report.tests.variants.total).toBeGreaterThanOrEqual(
      0.9,
    );
    expect(result.rule.Action).toEqual({ Block: {} });
    expect(result.rule.VisibilityConfig.MetricName).toContain('CVE-2099-1234');
  });

  it('scopes an SQL injection to the vulnerable endpoint instead of blocking SQL-looking text everywhere', async () => {
    const exploits = [
      req('s1', { uri: "/shop/item.php?id=1'+UNION+SELECT+username,password+FROM+users--+", class: 'sqli' }),
      req('s2', { uri: '/shop/item.php?id=1+AND+SLEEP(5)', class: 'sqli' }),
    ];
    const result = await runGeneration(
      {
        record: record({ cwes: ['CWE-89'] }),
        exploits,
        facts,
        benign: await benignPromise,
        evidenceSources: [],
      },
      new BuiltinEngine(),
    );
    expect(result.report.passed).toBe(true);
    expect(result.report.strategy).toMatch(/^endpoint\+/);
    expect(JSON.stringify(result.rule.Statement)).toContain('item\\\\.php');
  });

  it('says honestly when no candidate passes and why', async () => {
    // "Exploit" requests that look exactly like ordinary traffic cannot be separated from it.
    const benign = await benignPromise;
    const exploits = benign.slice(0, 2).map((r) => ({ ...r, id: `x-${r.id}`, expect: 'block' as const }));
    const result = await runGeneration(
      { record: record({ cwes: ['CWE-89'] }), exploits, facts, benign, evidenceSources: [] },
      new BuiltinEngine(),
    );
    expect(result.report.passed).toBe(false);
    expect(result.report.reasons.length).toBeGreaterThan(0);
    expect(result.report.confidence).toBe('low');
  });
});

describe('checks', () => {
  it('reports misses, false positives and lint errors with the requests that caused them', async () => {
    const benign = [req('ok', { uri: '/search?q=boots', expect: 'allow' })];
    const rule = buildRule('CVE-2099-1234', {
      ByteMatchStatement: {
        SearchString: 'SELECT',
        FieldToMatch: { QueryString: {} },
        PositionalConstraint: 'CONTAINS',
        TextTransformations: [{ Priority: 0, Type: 'LOWERCASE' }],
      },
    });
    const checks = checkRule(rule, {
      cveId: 'CVE-2099-1234',
      exploits: [req('e', { uri: '/?q=select' })],
      variants: [],
      benign,
      wcuBudget: 500,
      minVariantRate: 0.9,
    });
    expect(checks.passed).toBe(false);
    expect(checks.errors.map((e) => e.code)).toContain('unmatchable-case');
    expect(checks.evidence.missed).toEqual([{ id: 'e' }]);
    expect(checks.reasons.join(' ')).toMatch(/misses 1 of 1 exploit/);
  });
});

describe('checks keep exploit and variant misses apart', () => {
  it('a missed variant is not counted as a missed exploit request', () => {
    const rule = buildRule('CVE-2099-1234', {
      ByteMatchStatement: {
        SearchString: '../',
        FieldToMatch: { QueryString: {} },
        PositionalConstraint: 'CONTAINS',
        TextTransformations: [{ Priority: 0, Type: 'NONE' }],
      },
    });
    const variant = {
      ...req('e~url-encode', { uri: '/?f=..%2f..%2fetc' }),
      tags: ['variant', 'technique:url-encode'],
    };
    const checks = checkRule(rule, {
      cveId: 'CVE-2099-1234',
      exploits: [req('e', { uri: '/?f=../../etc' })],
      variants: [variant],
      benign: [],
      wcuBudget: 500,
      minVariantRate: 0,
    });
    expect(checks.evidence).toEqual({ total: 1, blocked: 1, missed: [] });
    expect(checks.variants.missed).toEqual([{ id: 'e~url-encode', technique: 'url-encode' }]);
    expect(checks.passed).toBe(true);
  });

  it('a regex RE2 cannot compile fails the checks instead of throwing', () => {
    const rule = buildRule('CVE-2099-1234', {
      RegexMatchStatement: {
        RegexString: '(jndi):\\1',
        FieldToMatch: { QueryString: {} },
        TextTransformations: [{ Priority: 0, Type: 'NONE' }],
      },
    });
    const checks = checkRule(rule, {
      cveId: 'CVE-2099-1234',
      exploits: [req('e', { uri: '/?a=jndi:jndi' })],
      variants: [],
      benign: [],
      wcuBudget: 500,
      minVariantRate: 0,
    });
    expect(checks.passed).toBe(false);
    expect(checks.reasons.join(' ')).toMatch(/invalid regex/);
  });
});
