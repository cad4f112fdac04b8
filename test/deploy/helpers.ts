// Shared set-up for the deployment tests: the fake WAFv2 endpoint, fake credentials, fast retries, a
// controllable clock and a few rules.
import { WAFV2Client } from '@aws-sdk/client-wafv2';

import { memoryHistory, type DeployOptions } from '../../src/deploy/index.js';
import type { Rule } from '../../src/waf/schema.js';
import type { FakeWafv2 } from '../support/fake-wafv2/server.js';
import { byteMatch, field, regex, rule, tt } from '../support/rules.js';

export const credentials = { accessKeyId: 'AKIDEXAMPLEFAKE', secretAccessKey: 'fake-secret-key' };

export function sdkClient(fake: FakeWafv2, region = 'us-east-1'): WAFV2Client {
  return new WAFV2Client({ region, endpoint: fake.url, credentials });
}

export interface Clock {
  now: () => Date;
  advance(minutes: number): void;
}

function clock(start = new Date('2026-03-01T12:00:00Z')): Clock {
  let t = start.getTime();
  return {
    now: () => new Date(t),
    advance(minutes) {
      t += minutes * 60_000;
    },
  };
}

export function options(fake: FakeWafv2, extra: Partial<DeployOptions> = {}) {
  const c = clock();
  const history = memoryHistory(c.now);
  const opts: DeployOptions = {
    endpoint: fake.url,
    credentials,
    history,
    now: c.now,
    retry: { attempts: 5, baseDelayMs: 1, maxDelayMs: 5 },
    ...extra,
  };
  return { opts, history, clock: c };
}

/** A generated-looking rule for a CVE (Block, as wafgen writes it; deploy turns it into Count). */
export function cveRule(cveId: string, needle = '${jndi:'): Rule {
  return rule(byteMatch(needle, field.headers(), 'CONTAINS', tt('URL_DECODE', 'LOWERCASE')), {
    name: `wafgen-${cveId}`,
  });
}

/** The rules a web ACL already has before wafgen arrives. */
export function existingRules(): Rule[] {
  return [
    {
      Name: 'AWS-AWSManagedRulesCommonRuleSet',
      Priority: 0,
      Statement: { ManagedRuleGroupStatement: { VendorName: 'AWS', Name: 'AWSManagedRulesCommonRuleSet' } },
      OverrideAction: { None: {} },
      VisibilityConfig: {
        SampledRequestsEnabled: true,
        CloudWatchMetricsEnabled: true,
        MetricName: 'AWS-AWSManagedRulesCommonRuleSet',
      },
    },
    rule(byteMatch('/admin', field.uri(), 'STARTS_WITH'), {
      name: 'block-admin',
      priority: 5,
      action: { Block: { CustomResponse: { ResponseCode: 403, CustomResponseBodyKey: 'denied' } } },
    }),
    rule(regex('^/(old|legacy)/', field.uri(), tt('URL_DECODE')), {
      name: 'count-legacy',
      priority: 10,
      action: { Count: {} },
    }),
  ];
}

export const webAclExtras = {
  CustomResponseBodies: { denied: { ContentType: 'TEXT_PLAIN' as const, Content: 'denied' } },
  TokenDomains: ['example.com'],
  CaptchaConfig: { ImmunityTimeProperty: { ImmunityTime: 600 } },
  ApplicationConfig: { Attributes: [{ Name: 'app', Values: ['shop'] }] },
};
