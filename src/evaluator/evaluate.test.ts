import { describe, expect, it } from 'vitest';

import { and, byteMatch, field, not, or, regex, rule, tt } from '../../test/support/rules.js';
import type { Rule, RuleGroup, Statement, WebACL } from '../waf/schema.js';
import { buildRequest, type HttpRequest, type RequestInit } from '../requests/model.js';
import { compileDocument, isCaught, RuleCompileError, type EvaluateOptions } from './index.js';
import { parseJsonBody } from './json-body.js';

const req = (init: Partial<RequestInit> & { uri?: string } = {}): HttpRequest =>
  buildRequest({ id: 'r', method: 'GET', uri: '/', headers: [['Host', 'target.example']], ...init });
const one = (s: Statement, options?: EvaluateOptions) => {
  const c = compileDocument({ kind: 'rule', rule: rule(s) }, options);
  return (r: HttpRequest) => c.evaluate(r);
};
const blocks = (s: Statement, r: HttpRequest, options?: EvaluateOptions) =>
  one(s, options)(r).action === 'BLOCK';

describe('field extraction', () => {
  it('UriPath and QueryString are raw: no decoding without a transformation', () => {
    const r = req({ uri: '/a%2e%2e/b?x=%24%7Bjndi' });
    expect(blocks(byteMatch('..', field.uri()), r)).toBe(false);
    expect(blocks(byteMatch('..', field.uri(), 'CONTAINS', tt('URL_DECODE')), r)).toBe(true);
    expect(blocks(byteMatch('${jndi', field.query()), r)).toBe(false);
    expect(blocks(byteMatch('x=${jndi', field.query(), 'EXACTLY', tt('URL_DECODE')), r)).toBe(true);
  });

  it('AllQueryArguments inspects values, not names; SingleQueryArgument names are case-insensitive', () => {
    const r = req({ uri: '/?jndi=1&q=%24%7Bjndi%3A&Q=two' });
    expect(blocks(byteMatch('jndi', field.args(), 'EXACTLY'), r)).toBe(false);
    expect(blocks(byteMatch('${jndi:', field.args(), 'EXACTLY', tt('URL_DECODE')), r)).toBe(true);
    // Both q and Q values are checked (repeated argument, OR logic).
    expect(blocks(byteMatch('two', field.arg('q'), 'EXACTLY'), r)).toBe(true);
    expect(blocks(byteMatch('two', field.arg('missing'), 'EXACTLY'), r)).toBe(false);
  });

  it('pre-parse transformations run on the query string before it is split', () => {
    const s: Statement = {
      ByteMatchStatement: {
        SearchString: 'evil',
        FieldToMatch: { SingleQueryArgument: { Name: 'b' } },
        PositionalConstraint: 'EXACTLY',
        TextTransformations: tt(),
        PreParseTextTransformations: [{ Priority: 0, Type: 'URL_DECODE' }],
      },
    };
    expect(blocks(s, req({ uri: '/?a=1%26b%3Devil' }))).toBe(true);
    expect(
      blocks(
        { ByteMatchStatement: { ...s.ByteMatchStatement!, PreParseTextTransformations: undefined } },
        req({ uri: '/?a=1%26b%3Devil' }),
      ),
    ).toBe(false);
  });

  it('SingleHeader names are case-insensitive; a missing header does not match', () => {
    const r = req({ headers: [['X-Api-Version', '${jndi:ldap://x}']] });
    expect(blocks(byteMatch('${jndi:', field.header('x-api-version')), r)).toBe(true);
    expect(blocks(not(byteMatch('x', field.header('x-missing'))), r)).toBe(true);
  });

  it('Headers match scope KEY, VALUE and ALL; included/excluded names', () => {
    const r = req({
      headers: [
        ['Host', 'a'],
        ['X-Evil-Name', 'fine'],
        ['Referer', '${jndi:'],
      ],
    });
    const headers = (MatchScope: 'ALL' | 'KEY' | 'VALUE', MatchPattern: object = { All: {} }): Statement =>
      byteMatch(
        'evil',
        { Headers: { MatchPattern, MatchScope, OversizeHandling: 'MATCH' } },
        'CONTAINS',
        tt('LOWERCASE'),
      );
    expect(blocks(headers('KEY'), r)).toBe(true);
    expect(blocks(headers('VALUE'), r)).toBe(false);
    expect(blocks(headers('ALL'), r)).toBe(true);
    expect(blocks(headers('KEY', { ExcludedHeaders: ['x-evil-name'] }), r)).toBe(false);
    expect(blocks(headers('KEY', { IncludedHeaders: ['X-EVIL-NAME'] }), r)).toBe(true);
  });

  it('headers beyond 200 entries or 8 KB follow OversizeHandling', () => {
    const many: [string, string][] = Array.from({ length: 205 }, (_, i) => [`x-h${i}`, 'v']);
    many.push(['x-late', 'payload']);
    const r = req({ headers: many });
    const s = (OversizeHandling: 'CONTINUE' | 'MATCH' | 'NO_MATCH', search = 'payload'): Statement =>
      byteMatch(search, { Headers: { MatchPattern: { All: {} }, MatchScope: 'VALUE', OversizeHandling } });
    expect(blocks(s('CONTINUE'), r)).toBe(false); // the payload sits past the first 200 headers
    expect(blocks(s('MATCH'), r)).toBe(true);
    expect(blocks(s('NO_MATCH', 'v'), r)).toBe(false);
    expect(blocks(s('CONTINUE', 'v'), r)).toBe(true);
  });

  it('Cookies: names case-sensitive, scopes, several Cookie headers', () => {
    const r = req({
      headers: [
        ['Cookie', 'session=abc; Theme=${jndi:x}'],
        ['Cookie', 'lang=en'],
      ],
    });
    const cookies = (MatchPattern: object, MatchScope: 'ALL' | 'KEY' | 'VALUE' = 'VALUE'): Statement =>
      byteMatch('${jndi:', { Cookies: { MatchPattern, MatchScope, OversizeHandling: 'MATCH' } });
    expect(blocks(cookies({ All: {} }), r)).toBe(true);
    expect(blocks(cookies({ IncludedCookies: ['Theme'] }), r)).toBe(true);
    expect(blocks(cookies({ IncludedCookies: ['theme'] }), r)).toBe(false);
    expect(blocks(cookies({ All: {} }, 'KEY'), r)).toBe(false);
  });

  it('Body is cut at the resource limit; OversizeHandling decides beyond it', () => {
    const padded = 'a='.padEnd(9000, 'x') + '&cmd=${jndi:ldap://x}';
    const r = req({ method: 'POST', body: padded });
    expect(blocks(byteMatch('${jndi:', field.body()), r)).toBe(false); // ALB: first 8 KB
    expect(blocks(byteMatch('${jndi:', field.body('MATCH')), r)).toBe(true);
    expect(blocks(byteMatch('${jndi:', field.body()), r, { resource: 'CLOUDFRONT' })).toBe(true); // 16 KB
    expect(blocks(byteMatch('x', field.body()), req())).toBe(false); // no body
  });

  it('HeaderOrder is the lower-cased names joined by ":"', () => {
    const r = req({
      headers: [
        ['Host', 'a'],
        ['User-Agent', 'b'],
        ['Accept', '*/*'],
      ],
    });
    expect(
      blocks(
        byteMatch('host:user-agent:accept', { HeaderOrder: { OversizeHandling: 'MATCH' } }, 'EXACTLY'),
        r,
      ),
    ).toBe(true);
  });

  it('JA3, JA4 and UriFragment fall back when the request has none', () => {
    const s = (FallbackBehavior: 'MATCH' | 'NO_MATCH'): Statement =>
      byteMatch('x'.repeat(32), { JA3Fingerprint: { FallbackBehavior } }, 'EXACTLY');
    expect(blocks(s('MATCH'), req())).toBe(true);
    expect(blocks(s('NO_MATCH'), req())).toBe(false);
    expect(blocks(s('NO_MATCH'), req({ ja3: 'x'.repeat(32) }))).toBe(true);
    expect(
      blocks(byteMatch('frag', { UriFragment: { FallbackBehavior: 'NO_MATCH' } }), req({ fragment: 'frag' })),
    ).toBe(true);
  });
});

describe('JSON body', () => {
  const json = (body: string, extra: Record<string, unknown> = {}, search = 'evil') =>
    blocks(
      byteMatch(search, {
        JsonBody: { MatchPattern: { All: {} }, MatchScope: 'VALUE', OversizeHandling: 'MATCH', ...extra },
      } as never),
      req({ method: 'POST', body, headers: [['Content-Type', 'application/json']] }),
    );

  it('inspects parsed values with escapes decoded', () => {
    expect(json('{"a":{"b":["ok","\\u0065vil"]}}')).toBe(true);
    expect(json('{"evil":"ok"}')).toBe(false);
    expect(json('{"evil":"ok"}', { MatchScope: 'KEY' })).toBe(true);
  });

  it('IncludedPaths: the path’s own key is not inspected (AWS example)', () => {
    const body = '{"a":{"c":"d","b":{"e":{"f":"g"}}}}';
    const scope = (MatchScope: string) =>
      parseJsonBody(body)
        .elements.filter((e) =>
          MatchScope === 'ALL' ? true : MatchScope === 'KEY' ? e.kind === 'key' : e.kind === 'value',
        )
        .filter((e) => e.pointer.startsWith('/a/b/') || (e.pointer === '/a/b' && e.kind === 'value'))
        .map((e) => e.value);
    expect(scope('ALL')).toEqual(['e', 'f', 'g']);
    expect(scope('KEY')).toEqual(['e', 'f']);
    expect(scope('VALUE')).toEqual(['g']);
    expect(json(body, { MatchPattern: { IncludedPaths: ['/a/b'] }, MatchScope: 'ALL' }, 'b')).toBe(false);
    expect(json(body, { MatchPattern: { IncludedPaths: ['/a/b'] }, MatchScope: 'ALL' }, 'e')).toBe(true);
  });

  it('invalid JSON: fallback MATCH, NO_MATCH, EVALUATE_AS_STRING, or what parsed before the error', () => {
    const broken = '{"a":"evil","b":"x",}';
    expect(json('{"a": tru}', { InvalidFallbackBehavior: 'MATCH' })).toBe(true);
    expect(json(broken, { InvalidFallbackBehavior: 'NO_MATCH' })).toBe(false);
    expect(json('{"x": [evil', { InvalidFallbackBehavior: 'EVALUATE_AS_STRING' })).toBe(true);
    expect(json(broken)).toBe(true); // "evil" was parsed before the error
    expect(json('{"a":"ok","a":"evil"}')).toBe(false); // duplicate key: parsing stops at it
  });

  it('handles 100,000 levels of nesting without recursion', () => {
    const deep = '['.repeat(100_000) + '"evil"' + ']'.repeat(100_000);
    expect(parseJsonBody(deep).elements).toHaveLength(1);
  });
});

describe('matchers', () => {
  it('regex runs on bytes with RE2 semantics', () => {
    expect(
      blocks(
        regex('(?i)union\\s+select', field.args(), tt('URL_DECODE')),
        req({ uri: '/?id=1%20UNION%20%20SELECT%202' }),
      ),
    ).toBe(true);
    expect(blocks(regex('^/caf.$', field.uri()), req({ uri: '/caf\u00c3\u00a9' }))).toBe(false); // é is two bytes
    expect(blocks(regex('^/caf..$', field.uri()), req({ uri: '/caf\u00c3\u00a9' }))).toBe(true);
  });

  // RE2 semantics: no backtracking (the time it takes is measured by `npm run bench:linearity`).
  it('a catastrophic pattern answers on a long input', () => {
    const r = req({ uri: '/?q=' + 'a'.repeat(50_000) + '!' });
    expect(blocks(regex('(?:a+)+$', field.query()), r)).toBe(false);
    expect(blocks(regex('(?:a+)+!$', field.query()), r)).toBe(true);
  });

  it('SQLi and XSS statements use the detectors', () => {
    const sqli: Statement = {
      SqliMatchStatement: { FieldToMatch: field.args(), TextTransformations: tt('URL_DECODE') },
    };
    expect(blocks(sqli, req({ uri: "/?id=1'%20OR%20'1'='1" }))).toBe(true);
    expect(blocks(sqli, req({ uri: '/?name=O%27Brien' }))).toBe(false);
    const xss: Statement = {
      XssMatchStatement: {
        FieldToMatch: field.args(),
        TextTransformations: tt('URL_DECODE', 'HTML_ENTITY_DECODE'),
      },
    };
    expect(blocks(xss, req({ uri: '/?q=%3Cscript%3Ealert(1)%3C/script%3E' }))).toBe(true);
    expect(blocks(xss, req({ uri: '/?q=hello+world' }))).toBe(false);
  });

  it('size constraint compares the transformed size', () => {
    const s: Statement = {
      SizeConstraintStatement: {
        FieldToMatch: field.uri(),
        ComparisonOperator: 'GT',
        Size: 5,
        TextTransformations: tt('URL_DECODE'),
      },
    };
    expect(blocks(s, req({ uri: '/%41%42' }))).toBe(false); // "/AB" is 3 bytes after decoding
    expect(blocks(s, req({ uri: '/abcdef' }))).toBe(true);
  });

  it('geo, IP sets with forwarded IPs, ASN', () => {
    const geo: Statement = { GeoMatchStatement: { CountryCodes: ['KP', 'IR'] } };
    expect(blocks(geo, req({ country: 'KP' }))).toBe(true);
    expect(blocks(geo, req({ country: 'FR' }))).toBe(false);
    const arn = 'arn:aws:wafv2:us-east-1:123456789012:regional/ipset/bad/1';
    const ipset = (Position?: 'FIRST' | 'LAST' | 'ANY'): Statement => ({
      IPSetReferenceStatement: {
        ARN: arn,
        ...(Position
          ? {
              IPSetForwardedIPConfig: {
                HeaderName: 'X-Forwarded-For',
                FallbackBehavior: 'NO_MATCH',
                Position,
              },
            }
          : {}),
      },
    });
    const options = { ipSets: { [arn]: ['203.0.113.0/24', '2001:db8::/32'] } };
    expect(blocks(ipset(), req({ clientIp: '203.0.113.9' }), options)).toBe(true);
    expect(blocks(ipset(), req({ clientIp: '2001:db8::1' }), options)).toBe(true);
    expect(blocks(ipset(), req({ clientIp: '198.51.100.1' }), options)).toBe(false);
    const xff = req({ clientIp: '10.0.0.1', headers: [['X-Forwarded-For', '198.51.100.1, 203.0.113.5']] });
    expect(blocks(ipset('FIRST'), xff, options)).toBe(false);
    expect(blocks(ipset('LAST'), xff, options)).toBe(true);
    expect(blocks(ipset('ANY'), xff, options)).toBe(true);
    expect(one(ipset())(req({ clientIp: '203.0.113.9' })).uncertain).toBe(true); // set not supplied
    expect(blocks({ AsnMatchStatement: { AsnList: [64496] } }, req({ asn: 64496 }))).toBe(true);
  });

  it('statements that cannot be judged per request are reported, never silently false', () => {
    const d = one({ RateBasedStatement: { Limit: 100, AggregateKeyType: 'IP' } })(req());
    expect(d.action).toBe('ALLOW');
    expect(d.uncertain).toBe(true);
    expect(d.rules[0]).toMatchObject({ verdict: 'unknown' });
    expect(d.rules[0]!.trace[0]!.reason).toMatch(/rate/);
    // Unknown OR true is true; unknown AND false is false.
    expect(
      blocks(
        or(
          { RateBasedStatement: { Limit: 100, AggregateKeyType: 'IP' } },
          byteMatch('/', field.uri(), 'STARTS_WITH'),
        ),
        req(),
      ),
    ).toBe(true);
    expect(
      one(and({ GeoMatchStatement: { CountryCodes: ['US'] } }, byteMatch('/x', field.uri(), 'EXACTLY')))(
        req(),
      ).uncertain,
    ).toBe(false);
  });
});

describe('rules, rule groups and web ACLs', () => {
  const vis = (n: string) => ({
    SampledRequestsEnabled: true,
    CloudWatchMetricsEnabled: true,
    MetricName: n,
  });
  const labelRule: Rule = {
    ...rule(byteMatch('/admin', field.uri(), 'STARTS_WITH'), {
      name: 'tag-admin',
      priority: 0,
      action: { Count: {} },
    }),
    RuleLabels: [{ Name: 'app:admin' }],
  };
  const byLabel = rule(
    { LabelMatchStatement: { Scope: 'LABEL', Key: 'app:admin' } },
    { name: 'block-admin', priority: 5 },
  );

  it('runs rules by priority; Count continues and its labels reach later rules', () => {
    const acl: WebACL = {
      Name: 'acl',
      DefaultAction: { Allow: {} },
      VisibilityConfig: vis('acl'),
      Rules: [byLabel, labelRule],
    };
    const c = compileDocument({ kind: 'web-acl', webAcl: acl });
    const d = c.evaluate(req({ uri: '/admin/users' }));
    expect(d).toMatchObject({ action: 'BLOCK', terminatingRule: 'block-admin' });
    expect(d.labels).toEqual(['awswaf:000000000000:webacl:acl:app:admin']);
    expect(d.rules.map((r) => `${r.rule}:${r.action}`)).toEqual(['tag-admin:COUNT', 'block-admin:BLOCK']);
    expect(c.evaluate(req({ uri: '/public' }))).toMatchObject({
      action: 'ALLOW',
      terminatingRule: 'Default_Action',
    });
  });

  it('labels are only visible to later rules', () => {
    const early = { ...byLabel, Priority: 0 };
    const late = { ...labelRule, Priority: 5 };
    const acl: WebACL = {
      Name: 'acl',
      DefaultAction: { Allow: {} },
      VisibilityConfig: vis('acl'),
      Rules: [early, late],
    };
    expect(compileDocument({ kind: 'web-acl', webAcl: acl }).evaluate(req({ uri: '/admin' })).action).toBe(
      'ALLOW',
    );
  });

  it('the first terminating rule wins; default Block applies when nothing terminates', () => {
    const allow = rule(byteMatch('/health', field.uri(), 'EXACTLY'), {
      name: 'allow-health',
      priority: 0,
      action: { Allow: {} },
    });
    const acl: WebACL = {
      Name: 'acl',
      DefaultAction: { Block: {} },
      VisibilityConfig: vis('acl'),
      Rules: [allow],
    };
    const c = compileDocument({ kind: 'web-acl', webAcl: acl });
    expect(c.evaluate(req({ uri: '/health' })).action).toBe('ALLOW');
    expect(c.evaluate(req({ uri: '/other' }))).toMatchObject({
      action: 'BLOCK',
      terminatingRule: 'Default_Action',
    });
  });

  it('rule group references: OverrideAction Count turns a block into a count; RuleActionOverrides apply', () => {
    const arn = 'arn:aws:wafv2:us-east-1:123456789012:regional/rulegroup/g/1';
    const group: RuleGroup = {
      Name: 'g',
      Capacity: 100,
      VisibilityConfig: vis('g'),
      Rules: [rule(byteMatch('/x', field.uri(), 'EXACTLY'), { name: 'inner' })],
    };
    const ref = (override: 'None' | 'Count', overrides: object[] = []): Rule => ({
      Name: 'use-g',
      Priority: 0,
      Statement: { RuleGroupReferenceStatement: { ARN: arn, RuleActionOverrides: overrides as never } },
      OverrideAction: { [override]: {} },
      VisibilityConfig: vis('use-g'),
    });
    const acl = (r: Rule): WebACL => ({
      Name: 'acl',
      DefaultAction: { Allow: {} },
      VisibilityConfig: vis('acl'),
      Rules: [r],
    });
    const options = { ruleGroups: { [arn]: group } };
    expect(
      compileDocument({ kind: 'web-acl', webAcl: acl(ref('None')) }, options).evaluate(req({ uri: '/x' })),
    ).toMatchObject({ action: 'BLOCK', terminatingRule: 'use-g/inner' });
    const counted = compileDocument({ kind: 'web-acl', webAcl: acl(ref('Count')) }, options).evaluate(
      req({ uri: '/x' }),
    );
    expect(counted.action).toBe('ALLOW');
    expect(counted.rules.at(-1)).toMatchObject({ rule: 'use-g', action: 'COUNT', overriddenFrom: 'BLOCK' });
    const overridden = compileDocument(
      { kind: 'web-acl', webAcl: acl(ref('None', [{ Name: 'inner', ActionToUse: { Count: {} } }])) },
      options,
    ).evaluate(req({ uri: '/x' }));
    expect(overridden.action).toBe('ALLOW');
    expect(overridden.rules[0]).toMatchObject({
      rule: 'use-g/inner',
      action: 'COUNT',
      overriddenFrom: 'BLOCK',
    });
  });

  it('a lone Count rule counts as caught; in a web ACL it does not block', () => {
    const counting = rule(byteMatch('/x', field.uri(), 'EXACTLY'), { action: { Count: {} } });
    const d = compileDocument({ kind: 'rule', rule: counting }).evaluate(req({ uri: '/x' }));
    expect(d.action).toBe('ALLOW');
    expect(isCaught('rule', d)).toBe(true);
    expect(isCaught('web-acl', d)).toBe(false);
  });

  it('traces the deciding statement with field, transformed value and offset', () => {
    const d = one(
      or(
        byteMatch('/nope', field.uri(), 'EXACTLY'),
        byteMatch('${jndi:', field.header('user-agent'), 'CONTAINS', tt('URL_DECODE', 'LOWERCASE')),
      ),
    )(req({ headers: [['User-Agent', 'Mozilla %24%7BJNDI:ldap://x}']] }));
    expect(d.terminatingStatement).toBe('$.Statement.OrStatement.Statements[1]');
    const hit = d.rules[0]!.trace.find((t) => t.verdict === true)!;
    expect(hit).toMatchObject({
      where: 'header:user-agent',
      offset: 8,
      transformations: ['URL_DECODE', 'LOWERCASE'],
    });
    expect(hit.value).toContain('${jndi:ldap://x}');
  });

  it('refuses hostile nesting with a clear error instead of hanging', () => {
    let s: Statement = byteMatch('x');
    for (let i = 0; i < 5_000; i++) s = not(s);
    expect(() => compileDocument({ kind: 'rule', rule: rule(s) })).toThrow(RuleCompileError);
    expect(() => compileDocument({ kind: 'rule', rule: rule(s) })).toThrow(/nested more than 64 levels/);
  });
});
