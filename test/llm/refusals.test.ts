// A provider's own refusal (HTTP 200, no output to use), in each provider's wire format from the
// local fake: the attempt is recorded as invalid output, billed, not retried on the same provider,
// not counted against its breaker, and the chain moves on to the next provider (issue 15: "scripted
// responses that include ... refusals").
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { BuiltinEngine } from '../../src/generation/builtin/index.js';
import { LlmEngine } from '../../src/generation/llm/index.js';
import { runGeneration } from '../../src/generation/loop.js';
import {
  AllProvidersFailed,
  createLlmClient,
  loadLlmConfig,
  type AttemptRecord,
} from '../../src/llm/index.js';
import { promptTextOf, startFakeLlm, type FakeLlm } from '../support/fake-llm/server.js';
import { GOOD, log4shellInput } from '../generation/llm/fixtures.js';
import { ASK, fakeEnv, VERDICT } from './helpers.js';

let fake: FakeLlm;
beforeAll(async () => {
  fake = await startFakeLlm();
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());

const ALL = 'openai,anthropic,google,bedrock,openai-compatible';
// Two retries and a breaker that opens at the first counted failure: a refusal must trigger neither.
const client = (deps = {}) =>
  createLlmClient(
    loadLlmConfig(
      fakeEnv(fake, {
        WAFGEN_LLM_PROVIDERS: ALL,
        WAFGEN_LLM_RETRIES: '2',
        WAFGEN_LLM_BREAKER_THRESHOLD: '1',
        WAFGEN_LLM_BREAKER_COOLDOWN_MS: '600000',
      }),
    ),
    deps,
  );
const brief = (a: readonly AttemptRecord[]) =>
  a.map((x) => `${x.provider}:${x.ok ? 'ok' : `${x.kind}${x.status ?? ''}`}`);

type Refusal = { refusal: string; variant?: 'content_filter' };
const cases: {
  name: string;
  first: 'openai' | 'anthropic' | 'google' | 'bedrock' | 'openai-compatible';
  next: 'openai' | 'anthropic' | 'google' | 'bedrock';
  reply: Refusal;
  api: string;
}[] = [
  {
    name: 'OpenAI Responses: a refusal content part',
    first: 'openai',
    next: 'anthropic',
    reply: { refusal: "I'm sorry, I can't help with exploit detection rules." },
    api: 'openai-responses',
  },
  {
    name: 'OpenAI chat completions (OpenAI-compatible server): message.refusal, content null',
    first: 'openai-compatible',
    next: 'openai',
    reply: { refusal: "I'm sorry, I can't assist with that." },
    api: 'openai-chat',
  },
  {
    name: "OpenAI chat completions: finish_reason 'content_filter', no content",
    first: 'openai-compatible',
    next: 'google',
    reply: { refusal: '', variant: 'content_filter' },
    api: 'openai-chat',
  },
  {
    name: 'Anthropic: stop_reason "refusal"',
    first: 'anthropic',
    next: 'google',
    reply: { refusal: '' },
    api: 'anthropic',
  },
  {
    name: 'Google Gemini: finishReason "SAFETY" and no text',
    first: 'google',
    next: 'bedrock',
    reply: { refusal: '' },
    api: 'google',
  },
  {
    name: 'Bedrock Converse: stopReason "content_filtered"',
    first: 'bedrock',
    next: 'openai',
    reply: { refusal: 'Sorry, the model cannot answer this question.' },
    api: 'bedrock',
  },
];

describe('a refusal from the first provider', () => {
  for (const c of cases)
    it(`${c.name}: invalid output, billed, not retried, breaker closed; the next provider answers`, async () => {
      fake.script(c.first, { ...c.reply, usage: { inputTokens: 1200, outputTokens: 7 } });
      fake.script(c.next, { json: VERDICT });
      const seen: AttemptRecord[] = [];
      const llm = client({ onAttempt: (a: AttemptRecord) => seen.push(a) });
      const r = await llm.generateObject({ ...ASK, providers: [c.first, c.next] });

      expect(r.object).toEqual(VERDICT);
      expect(r.provider).toBe(c.next);
      // The refusal really came in the provider's own format, once: no retry of the same provider.
      expect(fake.requestsFor(c.first).map((q) => q.api)).toEqual([c.api]);
      expect(fake.pending(c.first)).toBe(0);
      expect(brief(r.attempts)).toEqual([`${c.first}:invalid-output`, `${c.next}:ok`]);
      expect(brief(seen)).toEqual(brief(r.attempts));
      const refused = r.attempts[0]!;
      // The tokens of the refusal were billed all the same.
      expect(refused.usage?.inputTokens).toBe(1200);
      // Said as a refusal (the AI SDK maps each format to the finish reason content-filter).
      expect(refused.error).toMatch(
        /^invalid-output: refused by the provider \(finish reason content-filter\)/,
      );
      // Not a sign of a provider that is down: its breaker (threshold 1) stays closed.
      expect(llm.breakerStates()[c.first]).toBe('closed');
    });

  it('a filtered answer whose text happens to parse is still no answer (Bedrock guardrail_intervened-like)', async () => {
    // Before: generateText parsed the text whatever the finish reason, and this became the result.
    fake.script('bedrock', { refusal: JSON.stringify(VERDICT) });
    fake.script('anthropic', { json: { ...VERDICT, cve: 'CVE-2021-45046' } });
    const r = await client().generateObject({ ...ASK, providers: ['bedrock', 'anthropic'] });
    expect(r.provider).toBe('anthropic');
    expect(r.object.cve).toBe('CVE-2021-45046');
    expect(brief(r.attempts)).toEqual(['bedrock:invalid-output', 'anthropic:ok']);
  });

  it('every provider refusing ends the call (AllProvidersFailed), one attempt each', async () => {
    fake.script('anthropic', { refusal: '' });
    fake.script('google', { refusal: '' });
    const llm = client();
    const err = await llm
      .generateObject({ ...ASK, providers: ['anthropic', 'google'] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AllProvidersFailed);
    expect(brief((err as AllProvidersFailed).attempts as AttemptRecord[])).toEqual([
      'anthropic:invalid-output',
      'google:invalid-output',
    ]);
    expect(fake.requests).toHaveLength(2);
    expect(llm.breakerStates()).toMatchObject({ anthropic: 'closed', google: 'closed' });
  });
});

describe('a refusal inside a rule generation', () => {
  const answer = { json: { rationale: 'Match the lookup, decoded, wherever it travels.', statement: GOOD } };
  const run = () =>
    runGeneration(log4shellInput(), new LlmEngine(client(), { providers: ['anthropic', 'google'] }), {
      maxAttempts: 1,
      fallback: new BuiltinEngine(),
    });

  it("Anthropic refuses, Gemini writes the rule: the LLM's proven rule, not a fallback", async () => {
    fake.script('anthropic', { refusal: '' });
    fake.script('google', answer);
    const { rule, report } = await run();
    expect(report).toMatchObject({ engine: 'llm', verdict: 'proven', provider: 'google' });
    expect(report.degraded).toBeUndefined();
    expect(rule.Statement).toEqual(GOOD);
    expect(fake.requests.map((r) => r.provider)).toEqual(['anthropic', 'google']);
  });

  it('every provider refusing: asked again once (bounded), then the degraded built-in rule', async () => {
    // More than enough refusals: a loop that kept asking would take them all.
    for (let i = 0; i < 4; i++) {
      fake.script('anthropic', { refusal: '' });
      fake.script('google', { refusal: '' });
    }
    const { report } = await run();
    expect(report).toMatchObject({ engine: 'builtin', degraded: true });
    expect(report.fallback).toMatch(
      /every LLM provider failed: anthropic \(invalid-output\); google \(invalid-output\)/,
    );
    // The call and its one re-ask: each provider twice.
    expect(fake.requests.map((r) => r.provider)).toEqual(['anthropic', 'google', 'anthropic', 'google']);
    // The re-ask says the answer was declined, not that it was malformed JSON.
    const reAsk = promptTextOf(fake.requests[2]!.body);
    expect(reAsk).toContain('Your last answer was declined. This is defensive work');
    expect(reAsk).not.toContain('was not a JSON object');
    expect(promptTextOf(fake.requests[0]!.body)).not.toContain('Your last answer');
  });
});
