// The review console and /docs in a real browser (Debian's chromium, playwright-core) against a
// real `wafgen serve` with the embedded backends, deploying into the local WAFv2 server: sign in,
// the rules list, a rule page and its test matrix with the evaluator's trace, promote and roll back
// (confirmed, audited), read-only viewers, axe-core with no serious or critical violation, and
// /docs working from the server's own assets with no request leaving loopback. Saves the
// screenshot the README shows (docs/console.png).
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { apiKeyEntry } from '../../src/api/auth.js';
import { openStore } from '../../src/store/index.js';
import { runBin } from '../support/cli.js';
import { startFakeWafv2, type FakeWafv2 } from '../support/fake-wafv2/server.js';
import { REPO_ROOT } from '../support/shared.js';
import { credentials, existingRules, webAclExtras } from '../deploy/helpers.js';
import { call, spawnWafgen, type Child } from '../service/support.js';
import { chromiumAvailable, launchChromium, seriousViolations } from './browser.js';

const CVE = 'CVE-2021-44228';
const ADMIN_KEY = 'admin-key-0123456789abcdef';
const READER_KEY = 'reader-key-0123456789abcdef';
const run = chromiumAvailable();

let fake: FakeWafv2;
let server: Child;
let url: string;
let browser: BrowserContext;
let page: Page;
const dataDir = mkdtempSync(join(tmpdir(), 'wafgen-console-'));
/** Every URL the browser asked for. */
const requested: string[] = [];

const ruleInAcl = () =>
  fake.webAcl('shop', { region: 'eu-west-1' }).webAcl.Rules!.find((r) => r.Name === `wafgen-${CVE}`);

beforeAll(async () => {
  if (!run) return;
  fake = await startFakeWafv2();
  fake.addWebAcl({ name: 'shop', region: 'eu-west-1', rules: existingRules(), extra: webAclExtras });
  const env = {
    WAFGEN_DATA_DIR: dataDir,
    WAFGEN_OFFLINE: '1',
    LOG_LEVEL: 'silent',
    WAFGEN_API_KEYS: [
      apiKeyEntry('admin', ADMIN_KEY, ['rules:read', 'rules:deploy']),
      apiKeyEntry('reader', READER_KEY, ['rules:read']),
    ].join(';'),
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    AWS_REGION: 'eu-west-1',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: join(dataDir, 'none'),
    AWS_SHARED_CREDENTIALS_FILE: join(dataDir, 'none'),
    AWS_ENDPOINT_URL_WAFV2: fake.url,
  };
  // Version 1: the built-in engine's proven rule; version 2: the same with a label, so a rollback shows.
  const generated = runBin(['generate', CVE, '--json'], env);
  expect(generated.code, generated.stderr).toBe(0);
  const store = await openStore({ dataDir });
  try {
    const v1 = (await store.rules.latest(CVE))!;
    const first = v1.rule as { RuleLabels?: { Name: string }[] };
    const rule = { ...first, RuleLabels: [...(first.RuleLabels ?? []), { Name: 'wafgen:reviewed' }] };
    await store.rules.saveVersion(CVE, {
      rule,
      inputsHash: 'console-test-v2',
      engine: v1.engine,
      report: v1.report,
    });
  } finally {
    await store.close();
  }
  server = spawnWafgen(['serve', '--port', '0', '--host', '127.0.0.1'], env);
  [, url] = (await server.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/, 60_000)) as unknown as [
    string,
    string,
  ];
  // Version 2 goes in (Count) through the deployments API, as an operator's pipeline would.
  const deployed = await call<{ deployment: { id: string } }>(`${url}/v1/deployments`, {
    headers: { 'x-api-key': ADMIN_KEY },
    body: { cveId: CVE, webAcl: 'shop' },
  });
  expect(deployed.status).toBe(201);
  browser = await launchChromium();
  browser.on('request', (r) => requested.push(r.url()));
  page = await browser.newPage();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  server?.kill('SIGTERM');
  await server?.exited;
  await fake?.close();
}, 30_000);

async function signIn(key: string): Promise<void> {
  await browser.clearCookies();
  await page.goto(`${url}/console`);
  // Not signed in: the console sends the browser to its sign-in form.
  expect(new URL(page.url()).pathname).toBe('/console/login');
  await page.getByLabel('API key or bearer token').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${url}/console`);
}

describe.skipIf(!run)('the review console in chromium', () => {
  it('signs in with an API key into an HttpOnly, SameSite=Strict cookie; a wrong key is refused', async () => {
    await page.goto(`${url}/console/login`);
    await page.getByLabel('API key or bearer token').fill('not-a-valid-key-000000');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toContain('not accepted');
    await signIn(ADMIN_KEY);
    const session = (await browser.cookies(`${url}/console`)).find((c) => c.name === 'wafgen_console');
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/console' });
    // The page cannot read it.
    expect(await page.evaluate(() => document.cookie)).not.toContain(ADMIN_KEY);
  });

  it('lists the rule with its state, proof and WCU; filters; no serious accessibility violation', async () => {
    const row = page.getByRole('row', { name: new RegExp(CVE) });
    await expect(row.textContent()).resolves.toMatch(/count/);
    const cells = await row.getByRole('cell').allTextContents();
    // severity, engine, version, state, verdict, exploits, variants, benign, WCU
    expect(cells.slice(2, 5)).toEqual(['2', 'count', 'proven']);
    expect(cells[5]).toMatch(/^(\d+)\/\1$/); // every exploit request blocked
    expect(cells[7]).toMatch(/^0\/\d{4}$/); // no benign request blocked
    expect(await seriousViolations(page)).toEqual([]);
    // The search box filters as you type (the script), and as a form without it.
    await page.getByLabel('Search (CVE, title, vendor, product)').fill('no-such-thing-xyz');
    await expect(page.getByRole('status').textContent()).resolves.toMatch(/^0 of \d+ rules shown/);
    await page.goto(`${url}/console?state=block`);
    expect(await page.getByRole('row', { name: new RegExp(CVE) }).count()).toBe(0);
  });

  it("opens the rule: JSON, the test matrix with the evaluator's trace, the diff against the previous version", async () => {
    await page.goto(`${url}/console`);
    await page.getByRole('link', { name: CVE }).click();
    await page.waitForURL(`${url}/console/rules/${CVE}`);
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toContain(CVE);
    await expect(page.locator('pre code.hljs .hljs-attr').first().textContent()).resolves.toBe('"Name"');
    const matrix = page.locator('#matrix-table');
    const rows = matrix.locator('tbody tr');
    expect(await rows.count()).toBeGreaterThan(3);
    const results = await matrix.locator('tbody td:nth-child(3)').allTextContents();
    expect(results.map((r) => r.trim()).filter((r) => !r.startsWith('blocked'))).toEqual([]);
    // The first exploit's trace: which statement matched which field after which transforms.
    await rows
      .first()
      .getByText(/^Trace/)
      .click();
    const trace = await rows.first().locator('ol.trace').textContent();
    expect(trace).toMatch(/matched in (header|uri|query|body|cookie)/);
    expect(trace).toMatch(/after [A-Z_]+/);
    expect(await page.locator('pre.diff .add').allTextContents()).toContainEqual(
      expect.stringContaining('wafgen:reviewed'),
    );
    expect(await seriousViolations(page)).toEqual([]);
    // The README's picture: the test matrix with one trace open.
    await page.evaluate(() => {
      (document.activeElement as HTMLElement | null)?.blur();
      document.getElementById('matrix')?.scrollIntoView();
    });
    await page.screenshot({ path: resolve(REPO_ROOT, 'docs/console.png') });
  });

  it('promotes Count → Block and rolls back, each confirmed first and audited under the signed-in key', async () => {
    // While in Count, AWS sampled two requests the rule matched: the soak status counts them.
    const at = new Date(Date.now() - 200);
    fake.addSamples(
      'shop',
      `wafgen-${CVE}`,
      [
        { at, uri: '/search?q=${jndi:ldap://x}', action: 'COUNT' },
        { at, uri: '/login', headers: { 'user-agent': '${jndi:dns://y}' }, action: 'COUNT' },
      ],
      { region: 'eu-west-1' },
    );
    await page.goto(`${url}/console/deployments`);
    await expect(page.getByRole('row', { name: new RegExp(`wafgen-${CVE}`) }).textContent()).resolves.toMatch(
      /in Count for \d+ min;\s+2\s+sampled requests\s+matched/,
    );
    expect(await seriousViolations(page)).toEqual([]);
    await page.getByRole('button', { name: new RegExp(`Promote wafgen-${CVE}`) }).click();
    // Nothing happens before the confirmation.
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toContain(
      'Promote to Block',
    );
    expect(ruleInAcl()!.Action).toEqual({ Count: {} });
    expect(await seriousViolations(page)).toEqual([]);
    await page.getByRole('button', { name: 'Confirm: promote to block' }).click();
    await expect(page.getByRole('status').textContent()).resolves.toContain('with action Block');
    expect(ruleInAcl()!.Action).toEqual({ Block: {} });

    await page.goto(`${url}/console/deployments`);
    await expect(page.getByRole('row', { name: new RegExp(`wafgen-${CVE}`) }).textContent()).resolves.toMatch(
      /block/,
    );
    await page.getByRole('button', { name: new RegExp(`Roll back wafgen-${CVE}`) }).click();
    await page.getByRole('button', { name: 'Confirm: roll back' }).click();
    await expect(page.getByRole('status').textContent()).resolves.toContain('(version 1)');
    const rule = ruleInAcl()!;
    expect(rule.Action).toEqual({ Count: {} });
    expect(rule.RuleLabels).not.toContainEqual({ Name: 'wafgen:reviewed' });

    const audit = await call<{ deployments: { principal?: string; operation: string; version?: number }[] }>(
      `${url}/v1/deployments`,
      { headers: { 'x-api-key': READER_KEY } },
    );
    expect(audit.body.deployments[0]).toMatchObject({
      operation: 'rollback',
      principal: 'key:admin',
      version: 1,
    });
  });

  it('is read-only for a read scope, and refuses a change without the form token', async () => {
    await signIn(READER_KEY);
    await page.goto(`${url}/console/deployments`);
    await expect(page.locator('main').textContent()).resolves.toContain('Read-only');
    expect(await page.getByRole('button', { name: /Promote|Roll back/ }).count()).toBe(0);
    // Posting anyway (same origin, no CSRF token) changes nothing.
    const status = await page.evaluate(async () => {
      const r = await fetch('/console/deployments/1/rollback', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'confirm=yes',
      });
      return r.status;
    });
    expect(status).toBe(403);
    expect(ruleInAcl()!.Action).toEqual({ Count: {} });
  });

  it('shows the queue and the jobs', async () => {
    await page.goto(`${url}/console/jobs`);
    const facts = await page.locator('dl.facts').first().textContent();
    expect(facts).toContain('memory (answering)');
    expect(await seriousViolations(page)).toEqual([]);
  });

  it('serves /docs from its own assets: the reference renders and no request leaves loopback', async () => {
    await page.goto(`${url}/docs`);
    await page
      .getByRole('heading', { name: /wafgen API/ })
      .first()
      .waitFor();
    await page.getByText('/v1/deployments/{id}/promote').first().waitFor();
    const origin = new URL(url).origin;
    const elsewhere = requested.filter((u) => !u.startsWith(`${origin}/`) && !u.startsWith('data:'));
    expect(elsewhere).toEqual([]);
    expect(requested).toContain(`${origin}/docs/assets/swagger-ui-bundle.js`);
  });
});

describe.skipIf(!run)('the audit trail after the browser session', () => {
  it('holds each step the console took, with the principal', async () => {
    server.kill('SIGTERM');
    await server.exited;
    const events = readFileSync(join(dataDir, 'audit', 'audit.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; principal: string; deployment?: Record<string, unknown> })
      .filter((e) => e.type === 'deployment');
    expect(
      events.map((e) => [e.deployment!.action, e.deployment!.mode, e.deployment!.ok, e.principal]),
    ).toEqual([
      ['deploy', 'count', true, 'key:admin'],
      ['promote', 'block', true, 'key:admin'],
      ['rollback', 'count', true, 'key:admin'],
    ]);
  });
});
