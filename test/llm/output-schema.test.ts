// How the rule's output schema reaches each provider over the wire (issue 15, item 3): natively
// where the provider's structured output takes the compact recursive schema (OpenAI strict
// json_schema, Anthropic tool use), as JSON mode plus the short digest where it cannot (Gemini's
// responseSchema has no recursion) or everywhere under WAFGEN_LLM_OUTPUT=digest; a JSON-mode answer
// is still checked against the schema, and the budget estimates what is really sent.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { LlmRuleOutput, STATEMENT_DIGEST } from '../../src/generation/llm/schema.js';
import { BudgetExceeded, createLlmClient, loadLlmConfig } from '../../src/llm/index.js';
import { startFakeLlm, type FakeLlm } from '../support/fake-llm/server.js';
import { fakeEnv } from './helpers.js';

let fake: FakeLlm;
beforeAll(async () => {
  fake = await startFakeLlm();
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());

const STATEMENT = {
  ByteMatchStatement: {
    SearchString: '${jndi:',
    FieldToMatch: { UriPath: {} },
    TextTransformations: [{ Priority: 0, Type: 'URL_DECODE_UNI' }],
    PositionalConstraint: 'CONTAINS',
  },
};
const ANSWER = { rationale: 'The lookup travels in the path.', statement: STATEMENT };

const ASK_RULE = {
  role: 'main' as const,
  schema: LlmRuleOutput,
  schemaName: 'waf_rule_statement',
  system: 'You write WAF rules.',
  prompt: 'Block CVE-2021-44228 (JSON).',
  schemaDigest: STATEMENT_DIGEST,
};

const client = (providers: string, extra: Record<string, string> = {}) =>
  createLlmClient(loadLlmConfig(fakeEnv(fake, { WAFGEN_LLM_PROVIDERS: providers, ...extra })));

type Body = Record<string, unknown>;

describe('the output schema on the wire', () => {
  it('OpenAI: the compact recursive schema as strict json_schema; no digest in the instructions', async () => {
    fake.script('openai', { json: ANSWER });
    const r = await client('openai').generateObject(ASK_RULE);
    expect(r.object).toEqual(ANSWER);
    const body = fake.requestsFor('openai')[0]!.body as Body;
    const format = (body.text as { format: { type: string; strict: boolean; schema: unknown } }).format;
    expect(format).toMatchObject({ type: 'json_schema', strict: true, name: 'waf_rule_statement' });
    expect(JSON.stringify(format.schema)).toContain('"$ref":"#/definitions/Statement"');
    expect(JSON.stringify(body)).not.toContain('FieldToMatch has exactly one key');
  });

  it('Anthropic: the schema as the input schema of a forced `json` tool (tool use)', async () => {
    fake.script('anthropic', { json: ANSWER });
    const r = await client('anthropic').generateObject(ASK_RULE);
    expect(r.object).toEqual(ANSWER);
    const body = fake.requestsFor('anthropic')[0]!.body as Body;
    const tools = body.tools as { name: string; input_schema: unknown }[];
    expect(tools.map((t) => t.name)).toEqual(['json']);
    expect(JSON.stringify(tools[0]!.input_schema)).toContain('#/definitions/Statement');
  });

  it('Bedrock: the schema as the input schema of the `json` tool (Converse tool use)', async () => {
    fake.script('bedrock', { json: ANSWER });
    const r = await client('bedrock').generateObject(ASK_RULE);
    expect(r.object).toEqual(ANSWER);
    const body = fake.requestsFor('bedrock')[0]!.body as Body;
    const tools = (body.toolConfig as { tools: { toolSpec: { name: string; inputSchema: unknown } }[] })
      .tools;
    expect(tools.map((t) => t.toolSpec.name)).toEqual(['json']);
    expect(JSON.stringify(tools[0]!.toolSpec.inputSchema)).toContain('#/definitions/Statement');
  });

  it('Google: no responseSchema (it cannot recurse) but JSON mode and the digest after the system prompt', async () => {
    fake.script('google', { json: ANSWER });
    const r = await client('google').generateObject(ASK_RULE);
    expect(r.object).toEqual(ANSWER);
    const body = fake.requestsFor('google')[0]!.body as Body;
    const gen = body.generationConfig as Body;
    expect(gen.responseMimeType).toBe('application/json');
    expect(gen.responseSchema).toBeUndefined();
    const system = JSON.stringify(body.systemInstruction);
    expect(system).toContain('You write WAF rules.');
    expect(system).toContain('FieldToMatch has exactly one key');
  });

  it('a JSON-mode answer that does not fit the schema is invalid output, and the next provider is asked', async () => {
    fake.script('google', {
      json: { rationale: 'r', statement: { GeoMatchStatement: { CountryCodes: ['XX'] } } },
    });
    fake.script('openai', { json: ANSWER });
    const r = await client('google,openai').generateObject(ASK_RULE);
    expect(r.provider).toBe('openai');
    expect(r.attempts.map((a) => [a.provider, a.ok, a.kind])).toEqual([
      ['google', false, 'invalid-output'],
      ['openai', true, undefined],
    ]);
    // The bad answer was billed all the same.
    expect(r.attempts[0]!.usage).toEqual({ inputTokens: 100, outputTokens: 50 });
  });

  it('WAFGEN_LLM_OUTPUT=digest: JSON mode and the digest for every provider', async () => {
    fake.script('openai', { json: ANSWER });
    fake.script('openai-compatible', { json: ANSWER });
    const c = client('openai,openai-compatible', { WAFGEN_LLM_OUTPUT: 'digest' });
    await c.generateObject(ASK_RULE);
    await c.generateObject({ ...ASK_RULE, providers: ['openai-compatible'] });
    const openai = fake.requestsFor('openai')[0]!.body as Body;
    expect((openai.text as { format: unknown }).format).toEqual({ type: 'json_object' });
    expect(JSON.stringify(openai.input)).toContain('FieldToMatch has exactly one key');
    const compat = fake.requestsFor('openai-compatible')[0]!.body as Body;
    expect(compat.response_format).toEqual({ type: 'json_object' });
    expect(JSON.stringify(compat.messages)).toContain('FieldToMatch has exactly one key');
  });

  it('a request without a digest gets the schema natively everywhere (other callers of the client)', async () => {
    fake.script('google', { json: ANSWER });
    const { schemaDigest: _d, ...plain } = ASK_RULE;
    // Gemini cannot take the recursive schema: the AI SDK refuses it, so the call fails before any
    // request (the rule engine always sends a digest).
    await expect(client('google').generateObject(plain)).rejects.toThrow();
    expect(fake.requests).toHaveLength(0);
  });

  it('the budget estimates what each provider is sent: a prompt that fits with the digest only', async () => {
    // Characters / 4 of system + prompt: ~460 tokens with the digest, ~1,700 with the native schema.
    const budget = { WAFGEN_MAX_INPUT_TOKENS: '1000' };
    fake.script('google', { json: ANSWER });
    const r = await client('openai,google', budget).generateObject(ASK_RULE);
    expect(r.provider).toBe('google');
    expect(r.attempts.map((a) => [a.provider, a.kind])).toEqual([
      ['openai', 'budget'],
      ['google', undefined],
    ]);
    expect(fake.requestsFor('openai')).toHaveLength(0);
    // Over what even the digest needs: refused before anyone is asked.
    const err = await client('openai,google', { WAFGEN_MAX_INPUT_TOKENS: '300' })
      .generateObject(ASK_RULE)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BudgetExceeded);
    expect(fake.requests).toHaveLength(1);
  });
});
