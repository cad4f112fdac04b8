// `wafgen generate --engine llm` end to end: the real provider package talks HTTP to the local fake
// LLM server; the rule it returns goes through the same checks as the built-in engine's.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { runCli } from '../support/cli.js';
import { startFakeLlm, type FakeLlm } from '../support/fake-llm/server.js';
import { GOOD } from '../generation/llm/fixtures.js';

let fake: FakeLlm;
const env = { ...process.env };
beforeAll(async () => {
  fake = await startFakeLlm();
  Object.assign(process.env, {
    WAFGEN_DATA_DIR: mkdtempSync(join(tmpdir(), 'wafgen-llm-')),
    OPENAI_API_KEY: 'sk-test-not-a-real-key',
    OPENAI_BASE_URL: fake.baseURL('openai'),
    WAFGEN_LLM_PROVIDERS: 'openai',
    WAFGEN_LLM_RETRIES: '0',
    WAFGEN_LLM_TIMEOUT_MS: '5000',
  });
});
afterAll(async () => {
  for (const k of [
    'WAFGEN_DATA_DIR',
    'OPENAI_API_KEY',
    'OPENAI_BASE_URL',
    'WAFGEN_LLM_PROVIDERS',
    'WAFGEN_LLM_RETRIES',
    'WAFGEN_LLM_TIMEOUT_MS',
  ]) {
    if (env[k] === undefined) delete process.env[k];
    else process.env[k] = env[k];
  }
  await fake.close();
});

describe('wafgen generate with an LLM provider', () => {
  it('uses the provider, reports it with tokens and cost, and never prints the key', async () => {
    fake.script('openai', {
      json: { rationale: 'decode, lower-case, match the lookup anywhere', statement: GOOD },
      usage: { inputTokens: 1800, outputTokens: 300 },
    });
    const r = await runCli(['generate', 'CVE-2021-44228', '--json', '--no-save']);
    expect(r.code, r.stderr).toBe(0);
    const { report } = JSON.parse(r.stdout);
    expect(report).toMatchObject({
      producedBy: 'llm',
      provider: 'openai',
      usage: { inputTokens: 1800, outputTokens: 300 },
    });
    expect(report.costUsd).toBeGreaterThan(0);
    expect(fake.requestsFor('openai')).toHaveLength(1);
    expect(r.stdout + r.stderr).not.toContain('sk-test-not-a-real-key');
  }, 60_000);

  it('falls back to the built-in engine when the provider fails, and says so', async () => {
    fake.script('openai', { status: 500 }, { status: 500 }, { status: 500 });
    const r = await runCli(['generate', 'CVE-2021-44228', '--json', '--no-save']);
    expect(r.code, r.stderr).toBe(0);
    const { report } = JSON.parse(r.stdout);
    expect(report.producedBy).toBe('builtin');
    // Labelled as the built-in engine's rule, degraded (issue 15, item 6).
    expect(report).toMatchObject({ engine: 'builtin', degraded: true });
    expect(report.fallback).toBeTruthy();
  }, 60_000);

  it('--engine builtin never calls the provider; an unknown provider is bad input', async () => {
    const before = fake.requests.length;
    expect(
      (await runCli(['generate', 'CVE-2021-44228', '--engine', 'builtin', '--json', '--no-save'])).code,
    ).toBe(0);
    expect(fake.requests.length).toBe(before);
    const bad = await runCli(['generate', 'CVE-2021-44228', '--provider', 'skynet']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown provider skynet/);
  }, 60_000);
});
