// Logs: the one generation line and its fields, and secrets that must never reach a log line
// wherever they hide (headers, keys, URLs, error messages, JWTs, child bindings, the message).
import { afterEach, describe, expect, it } from 'vitest';

import { generationEvent } from '../../src/audit/index.js';
import { Secret as LlmSecret } from '../../src/llm/index.js';
import { createLogger, logGeneration } from '../../src/observability/logger.js';
import { forgetSecrets, redactText, registerSecret } from '../../src/observability/redact.js';
import { sampleReport } from '../audit/support.js';

function capture() {
  const lines: string[] = [];
  const logger = createLogger({ level: 'debug', destination: { write: (s: string) => void lines.push(s) } });
  return { logger, lines, parsed: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

const JWT =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c2VyLTEiLCJpYXQiOjE3MDAwMDAwMDB9.c2lnbmF0dXJlLWJ5dGVzLWhlcmU';
const OPENAI = 'sk-proj-AbCdEfGhIjKlMnOpQrStUvWx';
const ANTHROPIC = 'sk-ant-api03-AbCdEfGhIjKlMnOp';
const GOOGLE = 'AIzaSyA1234567890abcdefghijklmnopq';
const AWS = 'AKIAIOSFODNN7EXAMPLE';
const DD = 'f0e1d2c3b4a5968778695a4b3c2d1e0f';
const HEC = '6d1c41c8-2b0e-4a9d-9a0f-3c7b2d9e1f55';
const URL_TOKEN = 'q1w2e3r4t5y6u7i8';
const DB_PASSWORD = 'hunter2-db-pass';
const REGISTERED = 'plain-looking-value-42';
const SECRETS = [JWT, OPENAI, ANTHROPIC, GOOGLE, AWS, DD, HEC, URL_TOKEN, DB_PASSWORD, REGISTERED];

afterEach(() => forgetSecrets());

describe('generation log', () => {
  it('one line per rule with request id, CVE, provider, model, success, attempts, latency, tokens', () => {
    const { logger, parsed } = capture();
    logGeneration(logger, {
      requestId: 'req-7',
      cveId: 'CVE-2021-44228',
      principal: 'apikey:ci',
      report: sampleReport(),
      ruleName: 'wafgen-CVE-2021-44228',
      version: 2,
    });
    const [line] = parsed();
    expect(line).toMatchObject({
      level: 'info',
      service: 'wafgen',
      event: 'generation',
      msg: 'generation CVE-2021-44228 passed',
      requestId: 'req-7',
      cveId: 'CVE-2021-44228',
      provider: 'openai',
      model: 'gpt-5-mini',
      success: true,
      attempts: 2,
      latencyMs: 8200,
      tokens: { input: 1800, output: 420, total: 2220 },
      costUsd: 0.00129,
      error: null,
      validationErrors: [],
      version: 2,
    });
    expect(typeof line!.time).toBe('string');
  });

  it('an untested rule says so, with its reason code, never "passed" nor "failed its checks"', () => {
    const { logger, parsed } = capture();
    const untested = sampleReport({
      passed: false,
      verdict: 'untested',
      reasons: ['no exploit request to test against: nothing shows the rule blocks the exploit'],
      reasonCodes: ['no-exploit-tested'],
    });
    logGeneration(logger, { requestId: 'req-u', cveId: 'CVE-2021-44228', report: untested });
    const event = generationEvent({
      requestId: 'req-u',
      cveId: 'CVE-2021-44228',
      principal: 'cli:t',
      report: untested,
    });
    const [line] = parsed();
    expect(line).toMatchObject({
      level: 'warn',
      success: false,
      msg: 'generation CVE-2021-44228 untested (no exploit request to test)',
      reasonCodes: ['no-exploit-tested'],
    });
    expect(event).toMatchObject({ passed: false, generated: true, reasonCodes: ['no-exploit-tested'] });
  });

  it('failing checks log at warn with the validation errors; no rule at all logs at error', () => {
    const { logger, parsed } = capture();
    logGeneration(logger, {
      requestId: 'req-8',
      cveId: 'CVE-2021-44228',
      report: sampleReport({
        passed: false,
        reasons: ['blocks 1 benign request(s): b1'],
        reasonCodes: ['false-positive'],
      }),
    });
    logGeneration(logger, {
      requestId: 'req-9',
      cveId: 'CVE-2022-22965',
      engine: 'llm',
      provider: 'openai',
      latencyMs: 1200,
      error: new Error(`401 Unauthorized: Incorrect API key provided: ${OPENAI}`),
    });
    const [warn, error] = parsed();
    expect(warn).toMatchObject({
      level: 'warn',
      success: false,
      validationErrors: ['blocks 1 benign request(s): b1'],
      reasonCodes: ['false-positive'],
    });
    expect(error).toMatchObject({
      level: 'error',
      success: false,
      attempts: 0,
      latencyMs: 1200,
      provider: 'openai',
      error: '401 Unauthorized: Incorrect API key provided: [redacted]',
    });
  });
});

describe('secrets never logged', () => {
  it('wherever they hide', () => {
    registerSecret(REGISTERED);
    const { logger, lines } = capture();
    const child = logger.child({ requestId: 'r1', authorization: `Bearer ${JWT}` });
    child.info(
      {
        req: {
          method: 'POST',
          url: `/v1/callback?token=${URL_TOKEN}&cve=CVE-2021-44228`,
          headers: { authorization: `Bearer ${JWT}`, 'dd-api-key': DD, 'x-api-key': OPENAI, accept: '*/*' },
        },
        config: { OPENAI_API_KEY: OPENAI, ANTHROPIC_API_KEY: new LlmSecret(ANTHROPIC), DD_API_KEY: DD },
        upstream: `https://hooks.example/in?sig=${URL_TOKEN}`,
        database: `postgres://wafgen:${DB_PASSWORD}@db.internal:5432/wafgen`,
        nested: {
          deeper: {
            apiKey: GOOGLE,
            list: [`Authorization: Splunk ${HEC}`, { awsSecretAccessKey: 'x'.repeat(40) }],
          },
        },
        note: `the id token was ${JWT}`,
        usage: { inputTokens: 100, outputTokens: 20 },
        tokens: { input: 100, output: 20 },
        plain: `copied ${REGISTERED} by mistake`,
      },
      `calling with key ${AWS} and Authorization: Bearer ${JWT}`,
    );
    child.error(
      { err: new Error(`request to https://api.example/v1?api_key=${URL_TOKEN} failed with ${GOOGLE}`) },
      'boom',
    );
    logger.warn('sending %s to %s', `Splunk ${HEC}`, `https://u:${DB_PASSWORD}@example.com/`);
    const out = lines.join('');
    for (const s of SECRETS) expect(out, s).not.toContain(s);
    expect(out).not.toContain('x'.repeat(40));
    // Token counts are not secrets.
    const first = JSON.parse(lines[0]!) as {
      usage: unknown;
      tokens: unknown;
      req: { headers: Record<string, string> };
    };
    expect(first.usage).toEqual({ inputTokens: 100, outputTokens: 20 });
    expect(first.tokens).toEqual({ input: 100, output: 20 });
    expect(first.req.headers.accept).toBe('*/*');
    expect(first.req.headers.authorization).toBe('[redacted]');
    expect(out).toContain('cve=CVE-2021-44228');
    const err = JSON.parse(lines[1]!) as { err: { message: string; stack: string } };
    expect(err.err.message).toMatch(/api_key=\[redacted\] failed with \[redacted\]/);
  });

  it('redactText on the usual shapes', () => {
    expect(redactText(`Authorization: Bearer ${JWT}`)).toBe('Authorization: [redacted]');
    expect(redactText(`curl -H "DD-API-KEY: ${DD}"`)).toBe('curl -H "DD-API-KEY: [redacted]"');
    expect(redactText(`https://x.example/cb?code=abc123456&state=ok`)).toBe(
      'https://x.example/cb?code=abc123456&state=ok',
    );
    expect(redactText(`https://x.example/cb?access_token=abc123456&state=ok`)).toBe(
      'https://x.example/cb?access_token=[redacted]&state=ok',
    );
    expect(redactText(`https://s3.example/o?X-Amz-Signature=abcdef&X-Amz-Credential=AK%2F1`)).toBe(
      'https://s3.example/o?X-Amz-Signature=[redacted]&X-Amz-Credential=[redacted]',
    );
    expect(redactText('OPENAI_API_KEY=sk-something-long-here')).toBe('OPENAI_API_KEY=[redacted]');
    expect(redactText('nothing to hide: CVE-2021-44228, 1200 tokens')).toBe(
      'nothing to hide: CVE-2021-44228, 1200 tokens',
    );
  });
});
