// Realistic rules for the engine benchmark: ten typical CVE virtual patches with the transforms a
// reviewer would expect, one SQLi/XSS rule, and all of them in one rule group.
import type { FieldToMatch, Rule, RuleGroup, Statement, TextTransformationType } from '../src/waf/schema.js';

const tt = (...types: TextTransformationType[]) => types.map((Type, Priority) => ({ Priority, Type }));
const headersAll: FieldToMatch = {
  Headers: { MatchPattern: { All: {} }, MatchScope: 'ALL', OversizeHandling: 'MATCH' },
};
const body: FieldToMatch = { Body: { OversizeHandling: 'MATCH' } };
const bm = (
  SearchString: string,
  FieldToMatch: FieldToMatch,
  types: TextTransformationType[],
  PositionalConstraint: 'CONTAINS' | 'STARTS_WITH' | 'EXACTLY' = 'CONTAINS',
): Statement => ({
  ByteMatchStatement: { SearchString, FieldToMatch, PositionalConstraint, TextTransformations: tt(...types) },
});
const rx = (RegexString: string, FieldToMatch: FieldToMatch, types: TextTransformationType[]): Statement => ({
  RegexMatchStatement: { RegexString, FieldToMatch, TextTransformations: tt(...types) },
});
const or = (...Statements: Statement[]): Statement => ({ OrStatement: { Statements } });
const and = (...Statements: Statement[]): Statement => ({ AndStatement: { Statements } });
const rule = (cve: string, priority: number, Statement: Statement): Rule => ({
  Name: `wafgen-${cve}`,
  Priority: priority,
  Statement,
  Action: { Block: {} },
  VisibilityConfig: {
    SampledRequestsEnabled: true,
    CloudWatchMetricsEnabled: true,
    MetricName: `wafgen-${cve}`,
  },
});
const uri: FieldToMatch = { UriPath: {} };
const query: FieldToMatch = { QueryString: {} };
const args: FieldToMatch = { AllQueryArguments: {} };

export const CVE_RULES: Rule[] = [
  rule(
    'CVE-2021-44228',
    0,
    or(
      rx('\\$\\{(?:jndi|\\$\\{|[a-z]+:)', query, ['URL_DECODE', 'URL_DECODE', 'LOWERCASE']),
      bm('${jndi:', headersAll, ['URL_DECODE', 'LOWERCASE']),
      bm('${jndi:', body, ['URL_DECODE', 'LOWERCASE']),
    ),
  ),
  rule(
    'CVE-2022-22965',
    1,
    or(
      bm('class.module.classloader', body, ['URL_DECODE', 'LOWERCASE']),
      bm('class.module.classloader', query, ['URL_DECODE', 'LOWERCASE']),
    ),
  ),
  rule(
    'CVE-2021-26084',
    2,
    and(
      rx(
        '/(?:pages/(?:createpage-entervariables|doenterpagevariables)\\.action|templates/editor-preload-container)',
        uri,
        ['URL_DECODE', 'LOWERCASE'],
      ),
      rx('(?:\\\\u0027|%{|#\\{|\\$\\{)', body, ['URL_DECODE']),
    ),
  ),
  rule(
    'CVE-2018-13379',
    3,
    and(
      bm('/remote/fgt_lang', uri, ['URL_DECODE', 'LOWERCASE'], 'STARTS_WITH'),
      bm('../', query, ['URL_DECODE', 'URL_DECODE']),
    ),
  ),
  rule('CVE-2019-19781', 4, rx('/vpns?/\\.\\./|/vpn/\\.\\./vpns/', uri, ['URL_DECODE', 'LOWERCASE'])),
  rule(
    'CVE-2022-1388',
    5,
    and(
      bm('/mgmt/tm/util/bash', uri, ['URL_DECODE', 'LOWERCASE'], 'STARTS_WITH'),
      bm('x-f5-auth-token', headersAll, ['LOWERCASE']),
    ),
  ),
  rule(
    'CVE-2021-34473',
    6,
    and(
      bm('/autodiscover/autodiscover.json', uri, ['URL_DECODE', 'LOWERCASE']),
      bm('@', query, ['URL_DECODE']),
    ),
  ),
  rule(
    'CVE-2018-7600',
    7,
    or(
      rx('#(?:post_render|access_callback|pre_render|lazy_builder)', query, ['URL_DECODE']),
      rx('#(?:post_render|access_callback|pre_render|lazy_builder)', body, ['URL_DECODE']),
    ),
  ),
  rule('CVE-2017-5638', 8, rx('%\\{.*(?:ognl|memberaccess|@java)', headersAll, ['URL_DECODE', 'LOWERCASE'])),
  rule('CVE-2014-6271', 9, bm('() {', headersAll, ['URL_DECODE', 'COMPRESS_WHITE_SPACE'])),
];

export const SQLI_XSS_RULE: Rule = rule(
  'generic-injection',
  10,
  or(
    {
      SqliMatchStatement: { FieldToMatch: args, TextTransformations: tt('URL_DECODE', 'HTML_ENTITY_DECODE') },
    },
    {
      XssMatchStatement: { FieldToMatch: args, TextTransformations: tt('URL_DECODE', 'HTML_ENTITY_DECODE') },
    },
    { SqliMatchStatement: { FieldToMatch: body, TextTransformations: tt('URL_DECODE') } },
  ),
);

export const RULE_GROUP: RuleGroup = {
  Name: 'wafgen-bench',
  Capacity: 1500,
  VisibilityConfig: {
    SampledRequestsEnabled: true,
    CloudWatchMetricsEnabled: true,
    MetricName: 'wafgen-bench',
  },
  Rules: [...CVE_RULES, SQLI_XSS_RULE],
};
