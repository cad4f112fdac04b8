// Issue 15 through the HTTP API and the queue, against the local fake provider server:
//
// - LLM batching (item 2) from the API: concurrent synchronous POST /v1/rules/generate requests
//   that name `llmBatch` share one provider call, and so do the jobs of one POST /v1/jobs (the
//   server's in-process worker on the memory queue). The batch window is far longer than the
//   test, so only a full batch goes out.
// - Candidates and a judge (item 4) on a queue job, run by `wafgen worker` on BullMQ (one
//   generation thread) and on SQS (the loopback SQS server): the stored rule's report keeps both
//   candidates and the judge's verdict.
// - Honest fallback (item 6) inside a worker: a job whose providers all fail ends with a degraded
//   built-in rule; enqueued again while the degraded cache entry lasts, it is answered from it
//   without asking a provider; once the entry is gone and a provider answers, the next job stores
//   the LLM's rule.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { Service } from '../../src/app/index.js';
import { degradedKey } from '../../src/app/degraded.js';
import { generateRule } from '../../src/index.js';
import { ruleCacheKey } from '../../src/kv/index.js';
import type { Store } from '../../src/store/index.js';
import { startFakeLlm, type FakeLlm } from '../support/fake-llm/server.js';
import { startQueueHarness, type QueueHarness } from './queue-harness.js';
import { GOOD, NO_DECODE } from '../generation/llm/fixtures.js';
import {
  baseEnv,
  postgresAdminUrl,
  redisAvailable,
  startApi,
  token,
  waitFor,
  type TestApi,
} from '../service/support.js';
import { ruleWritingCalls } from './helpers.js';

const hasRedis = await redisAvailable();
const adminUrl = await postgresAdminUrl();
const rationale = 'Blocks this CVE’s exploit requests as they arrive.';
const OPENAI = { OPENAI_API_KEY: 'sk-test-not-a-real-key-0123', WAFGEN_LLM_RETRIES: '0' };

/** The statements the built-in engine proves for these CVEs: what a good model answers. */
async function statementsOf(ids: string[]): Promise<Map<string, unknown>> {
  const out = new Map<string, unknown>();
  for (const id of ids) out.set(id, (await generateRule(id)).rule.Statement);
  return out;
}

/** The CVEs a batched prompt names (its `## CVE-…` sections). */
const cvesOf = (prompt: string) => [...prompt.matchAll(/^## (CVE-\S+)$/gm)].map((m) => m[1]!);

/** Answers any rule-writing call, batched or single, with each named CVE's own rule. */
function anyCall(statements: Map<string, unknown>) {
  return {
    respond: (prompt: string) => {
      const ids = cvesOf(prompt);
      if (ids.length > 0)
        return { rules: ids.map((cveId) => ({ cveId, rationale, statement: statements.get(cveId) })) };
      return { rationale, statement: statements.get(/^CVE: (\S+)$/m.exec(prompt)?.[1] ?? '') };
    },
  };
}

describe('the API (memory queue, in-process worker), LLM batch window 60 s', () => {
  // Two CVEs for the synchronous requests and two for the jobs: each pair is generated once.
  const SYNC = ['CVE-2017-5638', 'CVE-2022-22965'];
  const JOBS = ['CVE-2021-41773', 'CVE-2019-3396'];
  let statements: Map<string, unknown>;
  let fake: FakeLlm;
  let api: TestApi;
  let auth: string;

  beforeAll(async () => {
    statements = await statementsOf([...SYNC, ...JOBS]);
    fake = await startFakeLlm();
    api = await startApi(
      baseEnv({
        ...OPENAI,
        REDIS_URL: undefined,
        WAFGEN_OFFLINE: '0',
        WAFGEN_FETCH_REFERENCES: '0',
        WAFGEN_HTTP_TIMEOUT_MS: '1000',
        WAFGEN_LLM_PROVIDERS: 'openai',
        OPENAI_BASE_URL: fake.baseURL('openai'),
        WAFGEN_LLM_TIMEOUT_MS: '10000',
        // Far longer than the test: a batch goes out only when all of its generations are waiting.
        WAFGEN_LLM_BATCH_WINDOW_MS: '60000',
        WAFGEN_WORKER_CONCURRENCY: '4',
        WAFGEN_AUDIT_FSYNC: '0',
      }),
    );
    expect(api.runtime.service.queue.kind).toBe('memory');
    auth = await token();
  }, 120_000);

  afterAll(async () => {
    await api?.close();
    await fake?.close();
  });

  const request = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${api.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${auth}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it('two concurrent POST /v1/rules/generate with llmBatch 2 share one provider call', async () => {
    fake.reset();
    // Enough for two single calls too, so that unbatched requests fail the count, not the clock.
    fake.script('openai', anyCall(statements), anyCall(statements));
    const answers = await Promise.all(
      SYNC.map((cveId) => request('POST', '/v1/rules/generate', { cveId, options: { llmBatch: 2 } })),
    );
    const calls = ruleWritingCalls(fake);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.batched).toBe(true);
    expect(cvesOf(calls[0]!.prompt).sort()).toEqual([...SYNC].sort());
    for (const [i, r] of answers.entries()) {
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body).toMatchObject({ cveId: SYNC[i], verdict: 'proven', cache: 'miss' });
      expect(r.body.engine).toMatch(/^llm-/);
      expect(r.body).not.toHaveProperty('degraded');
      const report = r.body.report as { producedBy: string; notes: string[]; attempts: number };
      expect(report).toMatchObject({ producedBy: 'llm', attempts: 1 });
      expect(report.notes).toContain('llm: written in one call with 1 other CVE(s)');
      expect((r.body.rule as { Statement: unknown }).Statement).toEqual(statements.get(SYNC[i]!));
    }
  }, 120_000);

  it('POST /v1/jobs with two CVEs and llmBatch 2: one provider call, both jobs succeed', async () => {
    fake.reset();
    fake.script('openai', anyCall(statements), anyCall(statements));
    const queued = await request('POST', '/v1/jobs', { cveIds: JOBS, options: { llmBatch: 2 } });
    expect(queued.status, JSON.stringify(queued.body)).toBe(202);
    const jobs = queued.body.jobs as { jobId: string; cveId: string; created: boolean }[];
    expect(jobs.map((j) => j.cveId)).toEqual(JOBS);
    expect(jobs.every((j) => j.created)).toBe(true);
    const views = await waitFor(
      'both jobs to finish',
      async () => {
        const rs = await Promise.all(jobs.map((j) => request('GET', `/v1/jobs/${j.jobId}`)));
        return rs.every((r) => r.body.status === 'succeeded' || r.body.status === 'dead') && rs;
      },
      90_000,
    );
    for (const [i, v] of views.entries()) {
      expect(v.status).toBe(200);
      expect(v.body, JSON.stringify(v.body)).toMatchObject({
        cveId: JOBS[i],
        status: 'succeeded',
        result: { cveId: JOBS[i], verdict: 'proven', passed: true, cached: false },
      });
      expect((v.body.result as { engine: string }).engine).toMatch(/^llm-/);
      expect(v.body.result).not.toHaveProperty('degraded');
    }
    const calls = ruleWritingCalls(fake);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.batched).toBe(true);
    expect(cvesOf(calls[0]!.prompt).sort()).toEqual([...JOBS].sort());
    for (const id of JOBS) {
      const stored = (await api.runtime.service.store.rules.latest(id))!;
      expect(stored.report).toMatchObject({ producedBy: 'llm', verdict: 'proven' });
      expect((stored.report as { notes: string[] }).notes).toContain(
        'llm: written in one call with 1 other CVE(s)',
      );
    }
  }, 120_000);
});

type Kind = 'bullmq' | 'sqs';
const kinds: { kind: Kind; threads: number }[] = [
  // BullMQ with a generation thread: the job's options cross to the thread (worker/pool.ts).
  ...(hasRedis ? [{ kind: 'bullmq' as const, threads: 1 }] : []),
  // SQS: the options travel in the message body (queue/sqs.ts), generation on the main thread.
  { kind: 'sqs', threads: 0 },
];

describe.skipIf(!adminUrl).each(kinds)(
  'wafgen worker on $kind, $threads generation thread(s)',
  ({ kind, threads }) => {
    const JUDGED = 'CVE-2021-44228';
    const FALLBACK = 'CVE-2018-7600';
    const SAME = 'CVE-2017-9841';
    let statements: Map<string, unknown>;
    let h: QueueHarness;
    let store: Store;
    let producer: Service;
    let fake: FakeLlm;

    beforeAll(async () => {
      statements = await statementsOf([FALLBACK, SAME]);
      fake = await startFakeLlm();
      h = await startQueueHarness({
        kind,
        threads,
        concurrency: 2,
        adminUrl: adminUrl!,
        name: 'wafgen-modes',
        env: {
          ...OPENAI,
          WAFGEN_OFFLINE: '0',
          WAFGEN_FETCH_REFERENCES: '0',
          WAFGEN_HTTP_TIMEOUT_MS: '1000',
          WAFGEN_LLM_PROVIDERS: 'openai,anthropic',
          OPENAI_BASE_URL: fake.baseURL('openai'),
          ANTHROPIC_API_KEY: 'sk-ant-test-not-a-real-key',
          ANTHROPIC_BASE_URL: fake.baseURL('anthropic'),
          WAFGEN_LLM_TIMEOUT_MS: '10000',
          // No in-process copy of a cache entry: the degraded entry removed below is gone for the
          // worker's generation (thread) at once, as it is when its TTL runs out.
          WAFGEN_CACHE_L1_MS: '0',
        },
      });
      ({ store, producer } = h);
    }, 120_000);

    afterAll(async () => {
      await h?.close();
      await fake?.close();
    });

    /** Enqueues the CVE and waits for its job to end (succeeded or dead); the job's row. */
    async function runJob(
      cveId: string,
      options: { candidates?: number; judge?: string; maxAttempts?: number } = {},
    ) {
      const queued = await producer.jobs.enqueue({ cveId, source: 'test', ...options });
      expect(queued.created).toBe(true);
      return waitFor(
        `the job of ${cveId}`,
        async () => {
          const row = await store.jobs.get(queued.jobId);
          return (row?.status === 'succeeded' || row?.status === 'dead') && row;
        },
        90_000,
      );
    }

    it('a job with two candidates and a judge: the stored report keeps both candidates and the verdict', async () => {
      fake.reset();
      const answer = (statement: unknown) => ({ json: { rationale: 'the lookup, decoded', statement } });
      fake.script('openai', answer(NO_DECODE));
      // The second candidate, then the judge's review (it proposes nothing the rule gets wrong).
      fake.script('anthropic', answer(GOOD), { json: { bypasses: [], legitimate: [] } });
      const job = await runJob(JUDGED, { candidates: 2, judge: 'anthropic', maxAttempts: 1 });
      expect(job.status, job.error ?? '').toBe('succeeded');
      expect(job.result).toMatchObject({ verdict: 'proven', passed: true, cached: false });
      const stored = (await store.rules.latest(JUDGED))!;
      const report = stored.report as {
        producedBy: string;
        candidates: { provider: string; chosen: boolean }[];
        judge: { judge: string; provider?: string; outcome: string; bypassesProposed: number };
      };
      expect(report.producedBy).toBe('llm');
      expect(report.candidates).toHaveLength(2);
      expect(report.candidates.map((c) => c.provider).sort()).toEqual(['anthropic', 'openai']);
      expect(report.candidates.filter((c) => c.chosen).map((c) => c.provider)).toEqual(['anthropic']);
      expect(report.judge).toMatchObject({ judge: 'anthropic', outcome: 'upheld', bypassesProposed: 0 });
      // Every scripted reply was asked for: both candidates and the judge.
      expect(fake.pending('openai') + fake.pending('anthropic')).toBe(0);
      expect(fake.requestsFor('anthropic')).toHaveLength(2);
    }, 120_000);

    /**
     * A job ends with a degraded built-in rule (every provider answers 500); enqueued again while the
     * degraded entry lasts, the entry answers it; once the entry is gone and OpenAI answers with
     * `statement`, the next job stores the LLM's rule. The stored versions before and after.
     */
    async function degradeThenReplace(cveId: string, statement: unknown) {
      fake.reset();
      fake.script('openai', { status: 500, message: 'down' });
      fake.script('anthropic', { status: 500, message: 'down' });
      const first = await runJob(cveId);
      expect(first.status, first.error ?? '').toBe('succeeded');
      expect(first.result).toMatchObject({ degraded: true, cached: false });
      expect((first.result as { engine: string }).engine).toMatch(/^builtin@/);
      const degraded = (await store.rules.latest(cveId))!;
      expect(degraded.report).toMatchObject({ producedBy: 'builtin', degraded: true });
      expect(degraded.engine).toBe('builtin');

      // Enqueued again while the degraded entry lasts: the job runs again, and the entry answers it
      // without asking a provider.
      const asked = fake.requests.length;
      const again = await runJob(cveId);
      expect(again.status).toBe('succeeded');
      expect(again.result).toMatchObject({ degraded: true, cached: true });
      expect(fake.requests.length).toBe(asked);

      // Its time is up (what the TTL does by itself after DEGRADED_TTL_MS); a provider answers now.
      const { service } = h.worker!.running;
      await service.kv.delete(degradedKey(ruleCacheKey(cveId, service.engineVersion)));
      fake.script('openai', { json: { rationale, statement } });
      const replaced = await runJob(cveId);
      expect(replaced.status, replaced.error ?? '').toBe('succeeded');
      expect(replaced.result).toMatchObject({ verdict: 'proven', cached: false });
      expect(replaced.result).not.toHaveProperty('degraded');
      expect((replaced.result as { engine: string }).engine).toMatch(/^llm-/);
      // The failed call and the answered one.
      expect(ruleWritingCalls(fake)).toHaveLength(2);
      const stored = (await store.rules.latest(cveId))!;
      expect(stored.version).toBe(degraded.version + 1);
      expect(stored.engine).toBe('llm');
      expect(stored.report).toMatchObject({ producedBy: 'llm', engine: 'llm', provider: 'openai' });
      expect(stored.report).not.toHaveProperty('degraded');
      expect((stored.rule as { Statement: unknown }).Statement).toEqual(statement);
    }

    it('a degraded rule from a job is replaced by the LLM rule once its cache entry expires and a provider answers', async () => {
      // The LLM's own statement: the Drupal render-array keys only (the built-in one also matches
      // Spring's class.module.classloader).
      const own = JSON.parse(
        JSON.stringify(statements.get(FALLBACK)).replaceAll('class\\\\.module\\\\.classloader|', ''),
      ) as unknown;
      expect(own).not.toEqual(statements.get(FALLBACK));
      await degradeThenReplace(FALLBACK, own);
    }, 180_000);

    it('…and so it is when the LLM answers with the very statement the built-in engine wrote', async () => {
      // The same rule from a different engine is a new version: the degraded one must not stand.
      await degradeThenReplace(SAME, statements.get(SAME));
    }, 180_000);
  },
);
