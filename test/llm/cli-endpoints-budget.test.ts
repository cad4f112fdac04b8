// Issue 15 from the command line, against the local fake provider server:
// - item 7: `wafgen generate --provider openai-compatible:<name>` calls the endpoint that
//   WAFGEN_OPENAI_COMPATIBLE_<NAME>_URL and _MODEL declare, and its rule is the LLM's;
// - the roadmap's input budget, WAFGEN_MAX_INPUT_TOKENS=4000 per rule (src/llm/budget.ts): a
//   typical CVE's first call fits it, so a one-shot answer is the rule; a budget the prompt cannot
//   fit is refused before any request is sent, and the built-in engine writes the rule instead.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { GOOD } from '../generation/llm/fixtures.js';
import { runCli } from '../support/cli.js';
import { startFakeLlm, type FakeLlm } from '../support/fake-llm/server.js';

let lab: FakeLlm;
let fake: FakeLlm;
const saved = { ...process.env };
/** Every variable a case sets, put back as it was after each. */
const touched = new Set<string>();
const setEnv = (vars: Record<string, string>) => {
  for (const [k, v] of Object.entries(vars)) {
    touched.add(k);
    process.env[k] = v;
  }
};

beforeAll(async () => {
  [lab, fake] = await Promise.all([startFakeLlm(), startFakeLlm()]);
});
afterAll(async () => {
  await Promise.all([lab?.close(), fake?.close()]);
});
beforeEach(() => {
  lab.reset();
  fake.reset();
  setEnv({
    WAFGEN_DATA_DIR: mkdtempSync(join(tmpdir(), 'wafgen-cli-eb-')),
    // Anything but the endpoint named on the command line would be asked on the other server.
    WAFGEN_LLM_PROVIDERS: 'openai',
    OPENAI_API_KEY: 'sk-test-not-a-real-key-0123',
    OPENAI_BASE_URL: fake.baseURL('openai'),
    WAFGEN_LLM_RETRIES: '0',
    WAFGEN_LLM_TIMEOUT_MS: '5000',
  });
});
afterEach(() => {
  for (const k of touched) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
  touched.clear();
});

const answer = { json: { rationale: 'decode, lower-case, match the lookup anywhere', statement: GOOD } };
const generate = (...args: string[]) =>
  runCli(['generate', 'CVE-2021-44228', '--no-fetch', '--no-save', '--json', ...args]);

describe('wafgen generate --provider openai-compatible:<name>', () => {
  const declareLab = () =>
    setEnv({
      WAFGEN_OPENAI_COMPATIBLE_LAB_URL: lab.baseURL('openai-compatible'),
      WAFGEN_OPENAI_COMPATIBLE_LAB_MODEL: 'qwen2.5-coder-32b',
    });

  /** The rule came from the lab endpoint, in one request, and OpenAI was not asked. */
  async function expectLabRule(r: { code: number; stdout: string; stderr: string }) {
    expect(r.code, r.stderr).toBe(0);
    const { report } = JSON.parse(r.stdout);
    expect(report).toMatchObject({
      producedBy: 'llm',
      provider: 'openai-compatible:lab',
      model: 'qwen2.5-coder-32b',
      verdict: 'proven',
      usage: { inputTokens: 2100, outputTokens: 260 },
    });
    expect(report.fallback).toBeUndefined();
    const asked = lab.requestsFor('openai-compatible');
    expect(asked).toHaveLength(1);
    expect(asked[0]).toMatchObject({ method: 'POST', model: 'qwen2.5-coder-32b' });
    expect(fake.requests).toHaveLength(0);
  }

  it('the default chain (OpenAI, then the declared endpoint): the flag picks the endpoint alone', async () => {
    declareLab();
    delete process.env.WAFGEN_LLM_PROVIDERS;
    lab.script('openai-compatible', { ...answer, usage: { inputTokens: 2100, outputTokens: 260 } });
    await expectLabRule(await generate('--provider', 'openai-compatible:lab', '--max-attempts', '1'));
  }, 60_000);

  it('the flag wins over WAFGEN_LLM_PROVIDERS, as a flag does over its variable', async () => {
    declareLab();
    // beforeEach set WAFGEN_LLM_PROVIDERS=openai: the endpoint the flag names is not in it.
    lab.script('openai-compatible', { ...answer, usage: { inputTokens: 2100, outputTokens: 260 } });
    await expectLabRule(await generate('--provider', 'openai-compatible:lab', '--max-attempts', '1'));
  }, 60_000);

  it('an endpoint no variables declare is bad input, and nothing is asked', async () => {
    declareLab();
    delete process.env.WAFGEN_LLM_PROVIDERS;
    const r = await generate('--provider', 'openai-compatible:nowhere');
    expect(r.code, r.stdout).toBe(2);
    expect(r.stderr).toMatch(/WAFGEN_OPENAI_COMPATIBLE_NOWHERE_URL/);
    expect(r.stdout).toBe('');
    expect(lab.requests.length + fake.requests.length).toBe(0);
  }, 60_000);
});

describe('WAFGEN_MAX_INPUT_TOKENS', () => {
  it('4000 (the roadmap budget): the first call fits, and a one-shot answer is the rule', async () => {
    setEnv({ WAFGEN_MAX_INPUT_TOKENS: '4000' });
    fake.script('openai', { ...answer, usage: { inputTokens: 2900, outputTokens: 310 } });
    const r = await generate('--engine', 'llm');
    expect(r.code, r.stderr).toBe(0);
    const { report } = JSON.parse(r.stdout);
    expect(report).toMatchObject({ producedBy: 'llm', provider: 'openai', verdict: 'proven', attempts: 1 });
    expect(report.fallback).toBeUndefined();
    expect(fake.requestsFor('openai')).toHaveLength(1);
  }, 60_000);

  it('a budget the prompt cannot fit: refused before sending, the built-in engine writes the rule', async () => {
    setEnv({ WAFGEN_MAX_INPUT_TOKENS: '500' });
    fake.script('openai', answer);
    const r = await generate('--engine', 'llm');
    expect(r.code, r.stderr).toBe(0);
    const { report } = JSON.parse(r.stdout);
    expect(report.producedBy).toBe('builtin');
    // What the first call is estimated at: within the roadmap's 4,000.
    const estimate = Number(/the prompt is about (\d+) tokens/.exec(report.fallback)?.[1]);
    expect(estimate).toBeGreaterThan(500);
    expect(estimate).toBeLessThanOrEqual(4000);
    expect(fake.requests).toHaveLength(0);
  }, 60_000);
});
