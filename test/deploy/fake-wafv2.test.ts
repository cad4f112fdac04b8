// The fake WAFv2 endpoint speaks the protocol the real SDK expects: signed JSON 1.1 requests, lock
// tokens, and errors the SDK turns into its typed exceptions (with Field/Parameter for bad input).
import {
  CheckCapacityCommand,
  GetWebACLCommand,
  UpdateWebACLCommand,
  WAFInvalidParameterException,
  WAFNonexistentItemException,
  WAFOptimisticLockException,
  type WAFV2Client,
} from '@aws-sdk/client-wafv2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { toSdkRule } from '../../src/deploy/index.js';
import { startFakeWafv2, type FakeWafv2 } from '../support/fake-wafv2/server.js';
import { byteMatch, rule } from '../support/rules.js';
import { existingRules, sdkClient, webAclExtras } from './helpers.js';

let fake: FakeWafv2;
let client: WAFV2Client;

beforeAll(async () => {
  fake = await startFakeWafv2();
  client = sdkClient(fake);
});
afterAll(async () => {
  client.destroy();
  await fake.close();
});

describe('fake WAFv2 endpoint', () => {
  it('answers GetWebACL with the document, SearchStrings as bytes, and a UUID LockToken', async () => {
    const seeded = fake.addWebAcl({ name: 'get-me', rules: existingRules(), extra: webAclExtras });
    const r = await client.send(new GetWebACLCommand({ Name: 'get-me', Scope: 'REGIONAL', Id: seeded.id }));
    expect(r.LockToken).toMatch(/^[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}$/);
    expect(r.WebACL?.ARN).toBe(seeded.arn);
    expect(seeded.arn).toMatch(/^arn:aws:wafv2:us-east-1:123456789012:regional\/webacl\/get-me\//);
    const admin = r.WebACL?.Rules?.find((x) => x.Name === 'block-admin');
    expect(Buffer.from(admin!.Statement!.ByteMatchStatement!.SearchString!).toString()).toBe('/admin');
    // Managed group (700) + STARTS_WITH byte match (2) + regex with one transformation (3 + 10).
    expect(r.WebACL?.Capacity).toBe(715);
    // The wire carried base64, as AWS does.
    const call = fake.callsOf('GetWebACL').at(-1)!;
    expect(call.headers['x-amz-target']).toBe('AWSWAF_20190729.GetWebACL');
    expect(call.headers['content-type']).toBe('application/x-amz-json-1.1');
    expect(call.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLEFAKE\/\d{8}\/us-east-1\/wafv2/,
    );
  });

  it('rejects unsigned requests and unknown operations', async () => {
    const unsigned = await fetch(fake.url, {
      method: 'POST',
      headers: {
        'x-amz-target': 'AWSWAF_20190729.ListWebACLs',
        'content-type': 'application/x-amz-json-1.1',
      },
      body: JSON.stringify({ Scope: 'REGIONAL' }),
    });
    expect(unsigned.status).toBe(403);
    expect((await unsigned.json()) as unknown).toMatchObject({
      __type: expect.stringMatching(/MissingAuthenticationToken/),
    });
  });

  it('issues a new LockToken per update and refuses a stale one with WAFOptimisticLockException', async () => {
    const seeded = fake.addWebAcl({ name: 'locking', rules: [] });
    const got = await client.send(
      new GetWebACLCommand({ Name: 'locking', Scope: 'REGIONAL', Id: seeded.id }),
    );
    const update = (token: string) =>
      client.send(
        new UpdateWebACLCommand({
          Name: 'locking',
          Scope: 'REGIONAL',
          Id: seeded.id,
          DefaultAction: { Allow: {} },
          VisibilityConfig: got.WebACL!.VisibilityConfig,
          Rules: [toSdkRule({ ...rule(byteMatch('x')), Action: { Count: {} } })],
          LockToken: token,
        }),
      );
    const first = await update(got.LockToken!);
    expect(first.NextLockToken).not.toBe(got.LockToken);
    const stale = await update(got.LockToken!).catch((e: unknown) => e);
    expect(stale).toBeInstanceOf(WAFOptimisticLockException);
    expect(fake.webAcl('locking').lockToken).toBe(first.NextLockToken);
  });

  it('validates bodies with the project schemas: WAFInvalidParameterException with Field and Parameter', async () => {
    const seeded = fake.addWebAcl({ name: 'strict', rules: [] });
    const got = await client.send(new GetWebACLCommand({ Name: 'strict', Scope: 'REGIONAL', Id: seeded.id }));
    const base = {
      Name: 'strict',
      Scope: 'REGIONAL' as const,
      Id: seeded.id,
      DefaultAction: { Allow: {} },
      VisibilityConfig: got.WebACL!.VisibilityConfig,
      LockToken: got.LockToken,
    };
    const badMetric = toSdkRule(rule(byteMatch('x'), { name: 'm', metric: 'has space' }));
    const e1 = (await client
      .send(new UpdateWebACLCommand({ ...base, Rules: [badMetric] }))
      .catch((e: unknown) => e)) as WAFInvalidParameterException;
    expect(e1).toBeInstanceOf(WAFInvalidParameterException);
    expect(e1.Field).toBe('METRIC_NAME');
    expect(e1.Parameter).toBe('has space');
    const dup = [
      toSdkRule(rule(byteMatch('a'), { name: 'a' })),
      toSdkRule(rule(byteMatch('b'), { name: 'b' })),
    ];
    const e2 = (await client
      .send(new UpdateWebACLCommand({ ...base, Rules: dup }))
      .catch((e: unknown) => e)) as WAFInvalidParameterException;
    expect(e2).toBeInstanceOf(WAFInvalidParameterException);
    expect(e2.Reason).toMatch(/priority/i);
    // Read-only members of GetWebACL's answer are not part of an update (the SDK drops unknown
    // members itself, so this one goes by hand, with a signature-shaped header).
    const raw = await fetch(fake.url, {
      method: 'POST',
      headers: {
        'x-amz-target': 'AWSWAF_20190729.UpdateWebACL',
        'content-type': 'application/x-amz-json-1.1',
        authorization:
          'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLEFAKE/20260301/us-east-1/wafv2/aws4_request, SignedHeaders=host, Signature=00',
      },
      body: JSON.stringify({ ...base, Rules: [], Capacity: 3 }),
    });
    expect(raw.status).toBe(400);
    expect(await raw.json()).toMatchObject({
      __type: 'com.amazonaws.wafv2#WAFInvalidParameterException',
      Field: 'WEB_ACL',
      Parameter: 'Capacity',
    });
  });

  it('answers WAFNonexistentItemException for unknown ids and unknown referenced rule groups', async () => {
    const e = await client
      .send(
        new GetWebACLCommand({ Name: 'nope', Scope: 'REGIONAL', Id: '00000000-0000-4000-8000-000000000000' }),
      )
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(WAFNonexistentItemException);
    const ref = await client
      .send(
        new CheckCapacityCommand({
          Scope: 'REGIONAL',
          Rules: [
            {
              Name: 'group',
              Priority: 0,
              Statement: {
                RuleGroupReferenceStatement: {
                  ARN: 'arn:aws:wafv2:us-east-1:123456789012:regional/rulegroup/none/00000000-0000-4000-8000-000000000000',
                },
              },
              OverrideAction: { None: {} },
              VisibilityConfig: {
                SampledRequestsEnabled: true,
                CloudWatchMetricsEnabled: true,
                MetricName: 'g',
              },
            },
          ],
        }),
      )
      .catch((x: unknown) => x);
    expect(ref).toBeInstanceOf(WAFNonexistentItemException);
  });

  it('refuses CLOUDFRONT scope outside us-east-1', async () => {
    const eu = sdkClient(fake, 'eu-west-1');
    const e = (await eu
      .send(new CheckCapacityCommand({ Scope: 'CLOUDFRONT', Rules: [] }))
      .catch((x: unknown) => x)) as WAFInvalidParameterException;
    eu.destroy();
    expect(e).toBeInstanceOf(WAFInvalidParameterException);
    expect(e.Field).toBe('SCOPE_VALUE');
  });
});
