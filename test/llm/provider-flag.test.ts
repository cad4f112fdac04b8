// `--provider` names the chain: what it names is configured beside the others, with
// WAFGEN_LLM_PROVIDERS read as the LLM settings read it (trimmed, any case, empty = unset).
import { describe, expect, it } from 'vitest';

import { chooseEngine } from '../../src/app/engines.js';
import { loadConfig } from '../../src/config/index.js';

const KEYS = {
  OPENAI_API_KEY: 'sk-test-not-a-real-key-0123',
  ANTHROPIC_API_KEY: 'sk-ant-test-not-a-real-key',
};
const choose = (env: NodeJS.ProcessEnv, providers: string) =>
  chooseEngine(loadConfig(env), 'llm', providers, env);

describe('--provider beside WAFGEN_LLM_PROVIDERS', () => {
  it('a list written in another case is the same list (no "lists a provider twice")', async () => {
    const c = await choose({ ...KEYS, WAFGEN_LLM_PROVIDERS: ' OpenAI ,Anthropic' }, 'openai');
    expect(c.mode).toBe('llm');
    expect(() => c.judgeFor!('anthropic')).not.toThrow();
  });

  it('an empty list is unset: every provider with credentials stays configured', async () => {
    const c = await choose({ ...KEYS, WAFGEN_LLM_PROVIDERS: '' }, 'openai');
    // The judge may use a provider the chain does not name.
    expect(() => c.judgeFor!('anthropic')).not.toThrow();
    expect(() => c.judgeFor!('google')).toThrow(/not in the configured chain/);
  });

  it('Bedrock on the AWS default credential chain (no keys in the environment) is configured when named', async () => {
    const c = await choose({ AWS_REGION: 'eu-west-1' }, 'bedrock');
    expect(c.mode).toBe('llm');
  });

  it('a provider with no credentials at all is still refused, naming what it lacks', async () => {
    await expect(choose({ ...KEYS }, 'google')).rejects.toThrow(/google/);
  });
});
