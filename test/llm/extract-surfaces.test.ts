// Issue 15 item 1 on the service's surfaces: long fetched text goes to the provider's small model for
// exploit facts on `wafgen serve` (POST /v1/rules/generate, and a queued job on its in-process
// worker) and in the worker Lambda, with the LLM's rule after it. The reference pages come from a
// fetcher given to the composition root (openService's `fetcher`, the seam tests use in place of the
// safe fetcher); the provider is the local fake server. The Lambda's EMF line for that generation
// carries the generation's and the extraction's tokens and cost (issue 15 item 5).
import { SQSClient } from '@aws-sdk/client-sqs';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { Fetcher } from '../../src/evidence/collect.js';
import { generateRule } from '../../src/index.js';
import { createMetrics } from '../../src/observability/index.js';
import type { SqsEventRecord } from '../../src/queue/index.js';
import type { Store } from '../../src/store/index.js';
import { createSqsHandler, openLambdaService } from '../../src/worker/lambda.js';
import { parseExposition, value } from '../observability/support.js';
import { baseEnv, startApi, token, waitFor, type TestApi } from '../service/support.js';
import {
  LOCAL_AWS_CREDENTIALS,
  receiveEventRecords,
  sqsQueueEnv,
  startFakeSqs,
  type FakeSqs,
} from '../support/fake-aws/sqs.js';
import { startFakeLlm, type FakeLlm } from '../support/fake-llm/server.js';
import { openAiServiceEnv } from './helpers.js';

const log = pino({ level: 'silent' });
const rationale = 'Match the technique, decoded, where it travels.';

/** A CVE, the payload token its advisory names, and the class the small model reports. */
const CASES = {
  api: { cveId: 'CVE-2021-44228', token: '${jndi:ldap://', attackClass: 'jndi-injection' },
  queued: { cveId: 'CVE-2017-5638', token: '%{(#_memberAccess', attackClass: 'expression-injection' },
  lambda: { cveId: 'CVE-2022-22965', token: 'class.module.classLoader', attackClass: 'code-injection' },
} as const;
type Case = (typeof CASES)[keyof typeof CASES];

/** Well past the 2,000 characters below which the small model is not asked. */
const article = (c: Case) => `<html><head><title>${c.cveId} advisory</title></head><body><article>
<h1>${c.cveId}: remote code execution</h1>
<p>${'The affected product parses request values before it logs or binds them, and administrators rarely see it. '.repeat(30)}</p>
<p>A GET request to /app/search whose q parameter carries ${c.token} runs code on the server.</p>
</article></body></html>`;

/** The small model's answer: facts the text has, and one it lacks (dropped by the cross-check). */
const extraction = (c: Case) => ({
  json: {
    attackClass: c.attackClass,
    endpoints: ['/app/search'],
    parameters: ['q', 'not_in_the_text'],
    methods: ['GET'],
    headers: [],
    payloadTokens: [c.token],
  },
  usage: { inputTokens: 2600, outputTokens: 90 },
});

const statements = new Map<string, unknown>();
/** The main model's answer: the statement the built-in engine proves for the CVE. */
const ruleAnswer = (c: Case) => ({
  json: { rationale, statement: statements.get(c.cveId) },
  usage: { inputTokens: 1900, outputTokens: 300 },
});

/** The one reference each CVE's record is given here: a name that resolves nowhere. */
const referenceOf = (c: Case) => `https://advisories.example.test/${c.cveId}`;

/**
 * Gives the stored record its one reference (so that nothing but the injected fetcher could serve
 * it), and serves the advisory there; anything else fails.
 */
async function useReference(store: Store, c: Case) {
  const record = (await store.vulns.get(c.cveId))!;
  await store.vulns.upsert({ ...record, references: [referenceOf(c)] });
}
function pageServer() {
  const fetched: string[] = [];
  const fetcher: Fetcher = async (url) => {
    const c = Object.values(CASES).find((k) => referenceOf(k) === url);
    if (!c) throw new Error(`not served in this test: ${url}`);
    fetched.push(url);
    const html = article(c);
    return { url, status: 200, contentType: 'text/html', text: html, bytes: html.length, redirects: [] };
  };
  return { fetcher, fetched };
}

// References are fetched (through the injected fetcher) only when not offline.
const llmEnv = (fake: FakeLlm) =>
  openAiServiceEnv(fake, {
    WAFGEN_FETCH_REFERENCES: '1',
    WAFGEN_LLM_TIMEOUT_MS: '10000',
    WAFGEN_AUDIT_FSYNC: '0',
  });

type Extraction = {
  calls: number;
  provider: string;
  model: string;
  usage: { inputTokens: number; outputTokens: number };
  costUsd: number;
  dropped: number;
  failed: number;
};

/** The report of a generation whose facts came from the small model and whose rule from the main one. */
function expectExtractedThenWritten(report: Record<string, unknown>) {
  expect(report).toMatchObject({ producedBy: 'llm', provider: 'openai', verdict: 'proven' });
  expect(report.extraction as Extraction).toEqual({
    calls: 1,
    provider: 'openai',
    model: 'gpt-4.1-mini',
    usage: { inputTokens: 2600, outputTokens: 90 },
    costUsd: expect.any(Number),
    dropped: 1,
    failed: 0,
  });
  expect((report.extraction as Extraction).costUsd).toBeGreaterThan(0);
  // The rule's own call is counted apart.
  expect(report.usage).toEqual({ inputTokens: 1900, outputTokens: 300 });
}

/** The small model was asked first, then the main one. */
function expectCalls(fake: FakeLlm) {
  expect(fake.requestsFor('openai').map((r) => r.model)).toEqual(['gpt-4.1-mini', 'gpt-4.1']);
}

let fake: FakeLlm;
beforeAll(async () => {
  for (const c of Object.values(CASES)) statements.set(c.cveId, (await generateRule(c.cveId)).rule.Statement);
  fake = await startFakeLlm();
}, 60_000);
afterAll(async () => {
  await fake?.close();
});

describe('wafgen serve: model extraction through the API and its in-process worker', () => {
  let api: TestApi;
  let auth: string;
  const pages = pageServer();

  beforeAll(async () => {
    api = await startApi(baseEnv({ ...llmEnv(fake), WAFGEN_WORKER_CONCURRENCY: '1' }), {
      fetcher: pages.fetcher,
    });
    expect(api.runtime.consumer).toBeDefined();
    auth = await token();
  }, 60_000);
  afterAll(async () => {
    await api?.close();
  });

  it("POST /v1/rules/generate: the small model's facts, the LLM's rule, extract tokens on /metrics", async () => {
    const c = CASES.api;
    await useReference(api.runtime.service.store, c);
    fake.reset();
    fake.script('openai', extraction(c), ruleAnswer(c));
    const res = await fetch(`${api.url}/v1/rules/generate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${auth}`, 'content-type': 'application/json' },
      body: JSON.stringify({ cveId: c.cveId }),
    });
    const body = (await res.json()) as { report: Record<string, unknown> };
    expect(res.status, JSON.stringify(body)).toBe(200);
    expectExtractedThenWritten(body.report);
    expectCalls(fake);
    expect(pages.fetched).toEqual([referenceOf(c)]);
    const evidence = await api.runtime.service.store.evidence.forCve(c.cveId);
    expect(
      evidence.find((e) => e.kind === 'signature' && e.extractor === 'llm:gpt-4.1-mini')?.signature,
    ).toMatchObject({ parameters: ['q'], payloadTokens: [c.token] });

    const samples = parseExposition(await (await fetch(`${api.url}/metrics`)).text());
    const tokens = (direction: string) =>
      value(samples, 'wafgen_llm_tokens_total', { stage: 'extract', direction, provider: 'openai' });
    expect(tokens('input')).toBe(2600);
    expect(tokens('output')).toBe(90);
    expect(
      value(samples, 'wafgen_llm_tokens_total', {
        stage: 'generate',
        direction: 'input',
        provider: 'openai',
      }),
    ).toBe(1900);
  }, 60_000);

  it('POST /v1/jobs: the job the in-process worker runs stores a rule whose report has the extraction', async () => {
    const c = CASES.queued;
    await useReference(api.runtime.service.store, c);
    fake.reset();
    fake.script('openai', extraction(c), ruleAnswer(c));
    const res = await fetch(`${api.url}/v1/jobs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${auth}`, 'content-type': 'application/json' },
      body: JSON.stringify({ cveId: c.cveId }),
    });
    const { jobs } = (await res.json()) as { jobs: { jobId: string }[] };
    expect(res.status).toBe(202);
    const { store } = api.runtime.service;
    const job = await waitFor('the job to finish', async () => {
      const j = await store.jobs.get(jobs[0]!.jobId);
      return (j?.status === 'succeeded' || j?.status === 'dead' || j?.status === 'failed') && j;
    });
    expect(job.status).toBe('succeeded');
    const stored = await store.rules.latest(c.cveId);
    expectExtractedThenWritten(stored!.report as unknown as Record<string, unknown>);
    expectCalls(fake);
  }, 60_000);
});

describe('the worker Lambda: model extraction, and its tokens in the EMF line', () => {
  const aws = LOCAL_AWS_CREDENTIALS;
  const saved = { ...process.env };
  let sqs: FakeSqs;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    sqs = await startFakeSqs();
    env = baseEnv({ ...llmEnv(fake), ...sqsQueueEnv(sqs, 'wafgen-extract') });
    // The SDK's default credential chain reads the process's environment.
    Object.assign(process.env, aws, { AWS_EC2_METADATA_DISABLED: 'true' });
  });
  afterAll(async () => {
    await sqs?.close();
    for (const k of [...Object.keys(aws), 'AWS_EC2_METADATA_DISABLED']) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  });

  it('an SQS event runs the job: the rule stored with its extraction, the EMF line non-zero', async () => {
    const c = CASES.lambda;
    fake.reset();
    fake.script('openai', extraction(c), ruleAnswer(c));
    const lines: Record<string, unknown>[] = [];
    const pages = pageServer();
    const running = await openLambdaService(env, {
      logger: log,
      audit: false,
      metrics: createMetrics(),
      writeEmf: (line) => lines.push(JSON.parse(line) as Record<string, unknown>),
      fetcher: pages.fetcher,
    });
    const { store } = running.service;
    await useReference(store, c);
    const client = new SQSClient({ endpoint: sqs.url, region: 'us-east-1' });
    try {
      const { jobId } = await running.service.jobs.enqueue({ cveId: c.cveId, source: 'test' });
      // What the event source mapping does: receive, and hand the records over as an SQS event.
      const records: SqsEventRecord[] = [];
      await waitFor('the message', async () => {
        records.push(...(await receiveEventRecords(client, env.WAFGEN_SQS_QUEUE_URL!)));
        return records.length >= 1;
      });
      const handler = createSqsHandler(() => Promise.resolve(running));
      expect(await handler({ Records: records })).toEqual({ batchItemFailures: [] });
      expect((await store.jobs.get(jobId))?.status).toBe('succeeded');
      expect(pages.fetched).toEqual([referenceOf(c)]);
      const stored = await store.rules.latest(c.cveId);
      expectExtractedThenWritten(stored!.report as unknown as Record<string, unknown>);
      expectCalls(fake);
    } finally {
      client.destroy();
      await running.close();
    }
    const generations = lines.filter((l) => 'Generations' in l);
    expect(generations).toHaveLength(1);
    const line = generations[0]!;
    expect(line).toMatchObject({
      engine: 'llm',
      provider: 'openai',
      verdict: 'proven',
      Generations: 1,
      GenerationErrors: 0,
      LlmInputTokens: 1900,
      LlmOutputTokens: 300,
      ExtractInputTokens: 2600,
      ExtractOutputTokens: 90,
    });
    expect(line.LlmCostUsd).toBeGreaterThan(0);
    expect(line.ExtractCostUsd).toBeGreaterThan(0);
    expect(line.Attempts).toBe(1);
  }, 90_000);
});

describe('WAFGEN_FETCH_REFERENCES=0: online for the LLM, no reference page fetched', () => {
  it('POST /v1/rules/generate asks the main model only and fetches nothing', async () => {
    const pages = pageServer();
    const api = await startApi(baseEnv({ ...llmEnv(fake), WAFGEN_FETCH_REFERENCES: '0' }), {
      fetcher: pages.fetcher,
    });
    try {
      const c = CASES.api;
      await useReference(api.runtime.service.store, c);
      fake.reset();
      fake.script('openai', ruleAnswer(c));
      const res = await fetch(`${api.url}/v1/rules/generate`, {
        method: 'POST',
        headers: { authorization: `Bearer ${await token()}`, 'content-type': 'application/json' },
        body: JSON.stringify({ cveId: c.cveId }),
      });
      const body = (await res.json()) as { report: Record<string, unknown> };
      expect(res.status, JSON.stringify(body)).toBe(200);
      expect(body.report).toMatchObject({ producedBy: 'llm', provider: 'openai', verdict: 'proven' });
      expect(body.report.extraction).toBeUndefined();
      expect(pages.fetched).toEqual([]);
      expect(fake.requestsFor('openai').map((r) => r.model)).toEqual(['gpt-4.1']);
    } finally {
      await api.close();
    }
  }, 60_000);
});
