// Issue 15 item 2: first attempts of several rules share one generation call; each rule is then
// checked on its own, and one the batched answer left out (or got wrong) is asked singly. Real
// generation loop, real provider package, the local fake provider server.
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';

import { chooseEngine } from '../../src/app/engines.js';
import { loadConfig } from '../../src/config/index.js';
import { BuiltinEngine } from '../../src/generation/builtin/index.js';
import { LlmEngine } from '../../src/generation/llm/index.js';
import { runGeneration } from '../../src/generation/loop.js';
import type { GenerationInput } from '../../src/generation/types.js';
import { createLlmClient, loadLlmConfig } from '../../src/llm/index.js';
import { promptTextOf, startFakeLlm, type FakeLlm } from '../support/fake-llm/server.js';
import { GOOD, NO_DECODE, log4shellInput } from '../generation/llm/fixtures.js';
import { fakeEnv } from './helpers.js';

let fake: FakeLlm;
beforeAll(async () => {
  fake = await startFakeLlm();
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());

const IDS = ['CVE-2021-44228', 'CVE-2021-45046', 'CVE-2021-45105'];
const inputFor = (id: string, batch: number): GenerationInput => {
  const base = log4shellInput();
  return { ...base, record: { ...base.record, id }, batch };
};
const engine = () =>
  new LlmEngine(createLlmClient(loadLlmConfig(fakeEnv(fake, { WAFGEN_LLM_PROVIDERS: 'openai' }))));
const rationale = 'The lookup, decoded, wherever it travels.';

describe('llm batch', () => {
  it('three first attempts in one call; the CVE the answer left out and the one it got wrong are retried singly', async () => {
    fake.script(
      'openai',
      {
        json: {
          rules: [
            { cveId: 'CVE-2021-44228', rationale, statement: GOOD },
            { cveId: 'cve-2021-45046', rationale, statement: NO_DECODE },
          ],
        },
        usage: { inputTokens: 3000, outputTokens: 900 },
      },
      // CVE-2021-45105, left out, asked singly (its first attempt), and CVE-2021-45046, which failed
      // its checks (no decoding), retried singly with feedback: in either order.
      { json: { rationale, statement: GOOD }, usage: { inputTokens: 2000, outputTokens: 300 } },
      { json: { rationale, statement: GOOD }, usage: { inputTokens: 2000, outputTokens: 300 } },
    );
    const e = engine();
    const [a, b, c] = await Promise.all(
      IDS.map((id) => runGeneration(inputFor(id, 3), e, { maxAttempts: 2, fallback: new BuiltinEngine() })),
    );
    const requests = fake.requestsFor('openai');
    expect(requests).toHaveLength(3);
    const first = promptTextOf(requests[0]!.body);
    for (const id of IDS) expect(first).toContain(`## ${id}`);
    expect(JSON.stringify(requests[0]!.body)).toContain('waf_rule_statements');
    // The later calls are single-rule prompts, one of them the retry with the checks' feedback.
    for (const r of requests.slice(1)) expect(promptTextOf(r.body)).not.toContain('## CVE-');
    expect(requests.slice(1).some((r) => promptTextOf(r.body).includes('previous statement failed'))).toBe(
      true,
    );

    expect(a!.report).toMatchObject({ verdict: 'proven', attempts: 1 });
    expect(a!.report.notes).toContain('llm: written in one call with 2 other CVE(s)');
    // Each rule carries its third of the batched call, and what it asked for alone.
    expect(a!.report.usage).toEqual({ inputTokens: 1000, outputTokens: 300 });
    expect(c!.report).toMatchObject({ verdict: 'proven', attempts: 1 });
    expect(c!.report.usage).toEqual({ inputTokens: 3000, outputTokens: 600 });
    expect(b!.report).toMatchObject({ verdict: 'proven', attempts: 2 });
    expect(b!.report.usage).toEqual({ inputTokens: 3000, outputTokens: 600 });
    expect(a!.rule.Name).not.toBe(b!.rule.Name);
  });

  it('a failed batched call sends every rule singly', async () => {
    fake.script(
      'openai',
      { status: 500, message: 'overloaded' },
      { json: { rationale, statement: GOOD } },
      { json: { rationale, statement: GOOD } },
    );
    const e = engine();
    const results = await Promise.all(
      IDS.slice(0, 2).map((id) => runGeneration(inputFor(id, 2), e, { maxAttempts: 1 })),
    );
    expect(fake.requestsFor('openai')).toHaveLength(3);
    for (const r of results) expect(r.report.verdict).toBe('proven');
  });

  it('a rule alone within the window is asked as without batching', async () => {
    fake.script('openai', { json: { rationale, statement: GOOD } });
    const r = await runGeneration(inputFor(IDS[0]!, 4), engine(), { maxAttempts: 1 });
    expect(r.report.verdict).toBe('proven');
    expect(JSON.stringify(fake.requestsFor('openai')[0]!.body)).toContain('waf_rule_statement"');
  });

  it('WAFGEN_LLM_BATCH_WINDOW_MS reaches the engine: a first attempt 4 s behind another still shares its call', async () => {
    fake.script('openai', {
      json: {
        rules: IDS.slice(0, 2).map((cveId) => ({ cveId, rationale, statement: GOOD })),
      },
    });
    const env = fakeEnv(fake, {
      WAFGEN_LLM_PROVIDERS: 'openai',
      WAFGEN_OFFLINE: '0',
      WAFGEN_FETCH_REFERENCES: '0',
      WAFGEN_LLM_BATCH_WINDOW_MS: '5000',
    });
    const { engine } = await chooseEngine(loadConfig(env), 'llm', undefined, env);
    // Only the window's timer is faked, and only until the call is under way (the HTTP exchange
    // runs on real timers).
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    let runs;
    try {
      const first = runGeneration(inputFor(IDS[0]!, 2), engine, { maxAttempts: 1 });
      await vi.advanceTimersByTimeAsync(4000);
      const second = runGeneration(inputFor(IDS[1]!, 2), engine, { maxAttempts: 1 });
      await vi.advanceTimersByTimeAsync(0);
      runs = Promise.all([first, second]);
    } finally {
      vi.useRealTimers();
    }
    for (const r of await runs)
      expect(r.report.notes).toContain('llm: written in one call with 1 other CVE(s)');
    const requests = fake.requestsFor('openai');
    expect(requests).toHaveLength(1);
    for (const id of IDS.slice(0, 2)) expect(promptTextOf(requests[0]!.body)).toContain(`## ${id}`);
  });
});
