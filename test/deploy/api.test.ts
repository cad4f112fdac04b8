// The deployment routes (issue 16 item 6) over a real loopback socket with the embedded backends,
// the real AWS SDK talking to the local WAFv2 server (test/support/fake-wafv2), and a memory audit
// log: plan, apply in Count, promote, roll back, each audited with the caller; the admin scope.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { MemoryAuditLog, type AuditEvent } from '../../src/audit/index.js';
import type { Store } from '../../src/store/index.js';
import { startFakeWafv2, type FakeWafv2 } from '../support/fake-wafv2/server.js';
import { byteMatch, field, rule, tt } from '../support/rules.js';
import { baseEnv, call, openTestStore, startApi, token, type TestApi } from '../service/support.js';
import { credentials, existingRules, webAclExtras } from './helpers.js';

const CVE = 'CVE-2099-0042';
const v1 = rule(byteMatch('../', field.uri(), 'CONTAINS', tt('URL_DECODE')), { name: `wafgen-${CVE}` });
const v2 = rule(byteMatch('../', field.uri(), 'CONTAINS', tt('URL_DECODE', 'URL_DECODE_UNI')), {
  name: `wafgen-${CVE}`,
});

const awsDir = mkdtempSync(join(tmpdir(), 'wafgen-deploy-api-'));
const AWS_ENV: Record<string, string | undefined> = {
  AWS_ACCESS_KEY_ID: credentials.accessKeyId,
  AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
  AWS_REGION: 'eu-west-1',
  AWS_EC2_METADATA_DISABLED: 'true',
  AWS_CONFIG_FILE: join(awsDir, 'none'),
  AWS_SHARED_CREDENTIALS_FILE: join(awsDir, 'none'),
  AWS_PROFILE: undefined,
  AWS_ENDPOINT_URL: undefined,
};
const saved: Record<string, string | undefined> = {};

let fake: FakeWafv2;
let store: Store;
let api: TestApi;
const audit = new MemoryAuditLog();
let admin: string;
let reader: string;

type Step = {
  deployment?: { id: string; action?: string; version?: number; countSince?: string };
  result: { outcome: string; action?: string; version?: number; plan: string; summary: string };
};
type Err = { error: { code: string; message: string; details?: Record<string, unknown> } };

beforeAll(async () => {
  fake = await startFakeWafv2();
  for (const [k, v] of Object.entries({ ...AWS_ENV, AWS_ENDPOINT_URL_WAFV2: fake.url })) {
    saved[k] = process.env[k];
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  fake.addWebAcl({ name: 'shop', region: 'eu-west-1', rules: existingRules(), extra: webAclExtras });
  ({ store } = await openTestStore());
  for (const [i, r] of [v1, v2].entries())
    await store.rules.saveVersion(CVE, { rule: r, inputsHash: `h${i}`, engine: 'builtin', report: {} });
  api = await startApi(baseEnv(), { store, audit });
  admin = await token({ sub: 'alice', scope: 'rules:read rules:deploy' });
  reader = await token({ sub: 'bob', scope: 'rules:read rules:generate' });
}, 60_000);

afterAll(async () => {
  await api?.close();
  await store?.close();
  await fake?.close();
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

const url = (path: string) => `${api.url}${path}`;
const deployments = (): AuditEvent[] => audit.events.filter((e) => e.type === 'deployment');

describe('POST /v1/deployments and its steps', () => {
  it('needs the deploy scope to change anything; a read scope may list', async () => {
    const refused = await call<Err>(url('/v1/deployments'), {
      token: reader,
      body: { cveId: CVE, webAcl: 'shop', dryRun: true },
    });
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toContain('rules:deploy');
    expect((await call(url('/v1/deployments'), { token: reader })).status).toBe(200);
    const bad = await call<Err>(url('/v1/deployments'), {
      token: admin,
      body: { cveId: CVE, webAcl: 'shop', ruleGroup: 'edge' },
    });
    expect(bad.status).toBe(400);
    expect(deployments()).toHaveLength(0);
  });

  it('plans, applies in Count, promotes and rolls back, each step audited with the caller', async () => {
    const plan = await call<Step>(url('/v1/deployments'), {
      token: admin,
      body: { cveId: CVE.toLowerCase(), webAcl: 'shop', dryRun: true },
    });
    expect(plan.status).toBe(200);
    expect(plan.body.result.outcome).toBe('dry-run');
    expect(plan.body.result.plan).toContain(`+ wafgen-${CVE}  priority 11, Count`);
    expect(plan.body.deployment).toBeUndefined();
    expect(fake.webAcl('shop', { region: 'eu-west-1' }).webAcl.Rules).toHaveLength(3);

    const applied = await call<Step>(url('/v1/deployments'), {
      token: admin,
      body: { cveId: CVE, webAcl: 'shop' },
    });
    expect(applied.status).toBe(201);
    expect(applied.body.result).toMatchObject({ outcome: 'updated', action: 'Count', version: 2 });
    const id = applied.body.deployment!.id;
    expect(applied.body.deployment).toMatchObject({
      action: 'Count',
      version: 2,
      countSince: expect.any(String),
    });
    expect(fake.webAcl('shop', { region: 'eu-west-1' }).webAcl.Rules![3]).toMatchObject({
      Name: `wafgen-${CVE}`,
      Action: { Count: {} },
    });

    const early = await call<Err>(url(`/v1/deployments/${id}/promote`), {
      token: admin,
      body: { soakMinutes: 30 },
    });
    expect(early.status).toBe(409);
    expect(early.body.error).toMatchObject({ code: 'deploy_refused', details: { deployCode: 'soak' } });

    const promoted = await call<Step>(url(`/v1/deployments/${id}/promote`), { token: admin, body: {} });
    expect(promoted.status).toBe(200);
    expect(promoted.body.result).toMatchObject({ outcome: 'updated', action: 'Block' });
    expect(promoted.body.deployment).toMatchObject({ id, action: 'Block' });
    expect(fake.webAcl('shop', { region: 'eu-west-1' }).webAcl.Rules![3]!.Action).toEqual({ Block: {} });

    const back = await call<Step>(url(`/v1/deployments/${id}/rollback`), { token: admin, body: {} });
    expect(back.status).toBe(200);
    expect(back.body.result).toMatchObject({ outcome: 'updated', action: 'Count', version: 1 });
    const acl = fake.webAcl('shop', { region: 'eu-west-1' }).webAcl;
    expect(acl.Rules![3]).toEqual({ ...v1, Priority: 11, Action: { Count: {} } });
    // The rest of the web ACL went back untouched.
    expect(acl.Rules!.slice(0, 3)).toEqual(existingRules());

    const list = await call<{ deployments: { id: string; version?: number; action?: string }[] }>(
      url('/v1/deployments'),
      { token: reader },
    );
    expect(list.body.deployments).toEqual([expect.objectContaining({ id, version: 1, action: 'Count' })]);

    await audit.flush();
    const steps = deployments().map((e) =>
      e.type === 'deployment'
        ? [e.deployment.action, e.deployment.mode, e.deployment.dryRun, e.deployment.ok, e.principal]
        : [],
    );
    expect(steps).toEqual([
      ['deploy', 'count', true, true, 'jwt:alice'],
      ['deploy', 'count', false, true, 'jwt:alice'],
      ['promote', 'block', false, false, 'jwt:alice'],
      ['promote', 'block', false, true, 'jwt:alice'],
      ['rollback', 'count', false, true, 'jwt:alice'],
    ]);
    const failed = deployments()[2]!;
    expect(failed.type === 'deployment' && failed.deployment.error).toMatch(/soak minutes/);
    expect(deployments().every((e) => e.cveId === CVE && e.ruleName === `wafgen-${CVE}`)).toBe(true);
  });

  it('answers 404 for an unknown deployment and names AWS refusals', async () => {
    const missing = await call<Err>(url('/v1/deployments/999999/promote'), { token: admin, body: {} });
    expect(missing.status).toBe(404);
    const before = deployments().length;
    const nowhere = await call<Err>(url('/v1/deployments'), {
      token: admin,
      body: { cveId: CVE, webAcl: 'no-such-acl' },
    });
    expect(nowhere.status).toBe(404);
    expect(nowhere.body.error).toMatchObject({
      code: 'deploy_refused',
      details: { deployCode: 'not-found' },
    });
    // The failed step is audited too.
    const last = deployments().at(-1)!;
    expect(deployments()).toHaveLength(before + 1);
    expect(last.type === 'deployment' && last.deployment.ok).toBe(false);
  });
});
