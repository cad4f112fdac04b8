// Issue 15 item 2 through the queue: jobs that carry llmBatch, run by `wafgen worker`, share one
// generation call, and each rule is then checked on its own and retried singly. Real PostgreSQL, a
// real queue (BullMQ on Redis, and SQS on the loopback SQS server), the LLM chain on the local fake
// provider server, and a batch window far longer than the test so that only a full batch can go out.
import { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';

import { openService, type Service } from '../../src/app/index.js';
import { chooseEngine, parseLlmBatchWindow } from '../../src/app/engines.js';
import { jobLlmBatch } from '../../src/app/jobs.js';
import { loadConfig } from '../../src/config/index.js';
import { InputError } from '../../src/core/errors.js';
import { generateRule } from '../../src/index.js';
import type { Store } from '../../src/store/index.js';
import type { SqsEventRecord } from '../../src/queue/index.js';
import { createSqsHandler } from '../../src/worker/lambda.js';
import { GenerationPool } from '../../src/worker/pool.js';
import { receiveEventRecords, type FakeSqs } from '../support/fake-aws/sqs.js';
import { promptTextOf, startFakeLlm, type FakeLlm } from '../support/fake-llm/server.js';
import { startQueueHarness, type QueueHarness } from './queue-harness.js';
import { baseEnv, postgresAdminUrl, redisAvailable, waitFor } from '../service/support.js';
import { openAiServiceEnv, ruleWritingCalls } from './helpers.js';

const hasRedis = await redisAvailable();
const adminUrl = await postgresAdminUrl();
const log = pino({ level: 'silent' });
const rationale = 'Blocks this CVE’s exploit requests as they arrive.';

describe('batch settings', () => {
  it('WAFGEN_LLM_BATCH_WINDOW_MS: whole milliseconds 0..60000, unset means the engine default', async () => {
    expect(parseLlmBatchWindow({})).toBeUndefined();
    expect(parseLlmBatchWindow({ WAFGEN_LLM_BATCH_WINDOW_MS: ' ' })).toBeUndefined();
    expect(parseLlmBatchWindow({ WAFGEN_LLM_BATCH_WINDOW_MS: '0' })).toBe(0);
    expect(parseLlmBatchWindow({ WAFGEN_LLM_BATCH_WINDOW_MS: '60000' })).toBe(60_000);
    for (const bad of ['-1', '60001', '1.5', '1e3', 'soon', '0x10'])
      expect(() => parseLlmBatchWindow({ WAFGEN_LLM_BATCH_WINDOW_MS: bad })).toThrow(
        /WAFGEN_LLM_BATCH_WINDOW_MS must be a whole number of milliseconds from 0 to 60000/,
      );
    // Refused as bad input whichever engine the command would run.
    await expect(
      chooseEngine(loadConfig(baseEnv()), 'builtin', undefined, { WAFGEN_LLM_BATCH_WINDOW_MS: 'x' }),
    ).rejects.toBeInstanceOf(InputError);
  });

  it("a job's batch is cut to the jobs its consumer runs at once; the process default fills in", () => {
    expect(jobLlmBatch(undefined)).toBeUndefined();
    expect(jobLlmBatch(6, { maxLlmBatch: 4 })).toBe(4);
    expect(jobLlmBatch(3, { maxLlmBatch: 4 })).toBe(3);
    expect(jobLlmBatch(undefined, { llmBatch: 8, maxLlmBatch: 2 })).toBe(2);
    expect(jobLlmBatch(1, { llmBatch: 8, maxLlmBatch: 2 })).toBe(1);
    expect(jobLlmBatch(undefined, { maxLlmBatch: 2 })).toBeUndefined();
  });

  it('the pool sends the calls of one batch to one thread, then the next call to the least busy', async () => {
    const pool = await GenerationPool.start({
      threads: 2,
      env: {},
      log,
      entry: new URL('../service/pool-thread.ts', import.meta.url),
    });
    try {
      const calls = Array.from({ length: 3 }, () => pool.generate('CVE-1000-0001', { llmBatch: 3 }));
      expect(pool.load).toEqual([3, 0]);
      calls.push(pool.generate('CVE-1000-0001'), pool.generate('CVE-1000-0001'));
      expect(pool.load).toEqual([3, 2]);
      // A batch of 2 starts on the least busy thread (1) and fills there, though 0 is as busy then.
      calls.push(pool.generate('CVE-1000-0001', { llmBatch: 2 }));
      calls.push(pool.generate('CVE-1000-0001', { llmBatch: 2 }));
      expect(pool.load).toEqual([3, 4]);
      await Promise.all(calls);
    } finally {
      await pool.close();
    }
  });
});

type Kind = 'bullmq' | 'sqs';
const kinds: { kind: Kind; threads: number }[] = [
  // BullMQ: two generation threads, so the batch's jobs must be sent to one of them (worker/pool.ts).
  ...(hasRedis ? [{ kind: 'bullmq' as const, threads: 2 }] : []),
  // SQS: `wafgen worker` on SQS (a consumer receiving up to ten messages at once), generating on
  // its main thread.
  { kind: 'sqs', threads: 0 },
];

describe.skipIf(!adminUrl).each(kinds)('$kind queue, $threads generation thread(s)', ({ kind, threads }) => {
  // Two CVE sets: a job's ID is its CVE and engine version, so each case queues CVEs of its own.
  const GOOD_SET = ['CVE-2013-2251', 'CVE-2017-9841', 'CVE-2019-3396', 'CVE-2021-41773'];
  const BAD_SET = ['CVE-2014-6271', 'CVE-2018-7600', 'CVE-2019-9670', 'CVE-2020-14882'];
  // The worker Lambda's case (SQS only).
  const LAMBDA_SET = ['CVE-2017-12615', 'CVE-2018-13379', 'CVE-2019-11510', 'CVE-2018-1273'];
  const statements = new Map<string, unknown>();
  const exploitsOf = new Map<string, number>();
  let h: QueueHarness;
  let store: Store;
  let producer: Service;
  let fake: FakeLlm;
  let sqs: FakeSqs | undefined;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    // The rule each CVE's answer carries: the built-in engine's, proven on the same exploits.
    for (const id of [...GOOD_SET, ...BAD_SET, ...(kind === 'sqs' ? LAMBDA_SET : [])]) {
      const { rule, report } = await generateRule(id);
      statements.set(id, rule.Statement);
      exploitsOf.set(id, report.tests.evidence.total);
    }
    fake = await startFakeLlm();
    h = await startQueueHarness({
      kind,
      threads,
      concurrency: 8,
      adminUrl: adminUrl!,
      name: 'wafgen-batch',
      env: openAiServiceEnv(fake, {
        // Far longer than the test: a batch goes out only when all of its jobs are waiting.
        WAFGEN_LLM_BATCH_WINDOW_MS: '60000',
      }),
    });
    ({ store, producer, sqs, env } = h);
  }, 120_000);

  afterAll(async () => {
    await h?.close();
    await fake?.close();
  });

  /** Answers any call with each named CVE's own rule: a batch's (its `## CVE-…` sections) or one. */
  const anyCall = {
    respond: (prompt: string) => {
      const ids = [...prompt.matchAll(/^## (CVE-\S+)$/gm)].map((m) => m[1]!);
      return ids.length > 0
        ? { rules: ids.map((cveId) => ({ cveId, rationale, statement: statements.get(cveId) })) }
        : single.respond(prompt);
    },
  };

  /** Answers every single-rule call with the CVE's own rule (the CVE its prompt names). */
  const single = {
    respond: (prompt: string) => ({
      rationale,
      statement: statements.get(/^CVE: (\S+)$/m.exec(prompt)?.[1] ?? ''),
    }),
  };

  async function runBatch(ids: string[]) {
    const jobs: { jobId: string }[] = [];
    for (const cveId of ids) jobs.push(await producer.jobs.enqueue({ cveId, source: 'test', llmBatch: 4 }));
    await waitFor(
      'the four jobs to finish',
      async () => {
        const rows = await Promise.all(jobs.map((j) => store.jobs.get(j.jobId)));
        return rows.every((r) => r?.status === 'succeeded' || r?.status === 'dead') && rows;
      },
      90_000,
    );
    for (const j of jobs) expect((await store.jobs.get(j.jobId))?.status).toBe('succeeded');
    return Promise.all(ids.map(async (id) => (await store.rules.latest(id))!));
  }

  /** The rule was checked against its own CVE's exploit requests only, and blocked each. */
  function testedAlone(id: string, stored: { rule: unknown; report: unknown }, set: string[]) {
    const report = stored.report as {
      verdict: string;
      producedBy: string;
      degraded?: boolean;
      tests: { evidence: { total: number; blocked: number } };
      evidenceUsed: string[];
    };
    // The LLM's rule, not the built-in fallback's (which would carry the same statement).
    expect(report).toMatchObject({ verdict: 'proven', producedBy: 'llm' });
    expect(report.degraded).toBeUndefined();
    expect(report.tests.evidence).toMatchObject({ total: exploitsOf.get(id), blocked: exploitsOf.get(id) });
    const bundled = report.evidenceUsed.filter((e) => e.startsWith('bundled exploit'));
    expect(bundled.length).toBeGreaterThan(0);
    for (const e of bundled) {
      expect(e).toContain(id);
      for (const other of set.filter((o) => o !== id)) expect(e).not.toContain(other);
    }
    expect((stored.rule as { Statement: unknown }).Statement).toEqual(statements.get(id));
  }

  it('four jobs with llmBatch 4 go out as one provider call; each rule is checked on its own', async () => {
    fake.reset();
    fake.script('openai', {
      json: { rules: GOOD_SET.map((cveId) => ({ cveId, rationale, statement: statements.get(cveId) })) },
      usage: { inputTokens: 8000, outputTokens: 2000 },
    });
    const rules = await runBatch(GOOD_SET);
    const calls = ruleWritingCalls(fake);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.batched).toBe(true);
    for (const id of GOOD_SET) expect(calls[0]!.prompt).toContain(`## ${id}`);
    for (const [i, id] of GOOD_SET.entries()) {
      testedAlone(id, rules[i]!, GOOD_SET);
      const report = rules[i]!.report as { attempts: number; notes: string[]; usage: unknown };
      expect(report.attempts).toBe(1);
      expect(report.notes).toContain('llm: written in one call with 3 other CVE(s)');
      // Each rule carries its quarter of the call.
      expect(report.usage).toEqual({ inputTokens: 2000, outputTokens: 500 });
    }
  }, 120_000);

  it('a CVE the batched answer left out, and one it got wrong, are each asked singly and end with a rule', async () => {
    const [a, b, wrong, missing] = BAD_SET as [string, string, string, string];
    fake.reset();
    fake.script(
      'openai',
      {
        json: {
          rules: [
            { cveId: a, rationale, statement: statements.get(a) },
            { cveId: b, rationale, statement: statements.get(b) },
            // Valid, but matches none of the CVE's exploit requests: its checks fail.
            {
              cveId: wrong,
              rationale,
              statement: {
                ByteMatchStatement: {
                  SearchString: 'never-in-any-request-7f3a',
                  FieldToMatch: { UriPath: {} },
                  TextTransformations: [{ Priority: 0, Type: 'NONE' }],
                  PositionalConstraint: 'CONTAINS',
                },
              },
            },
          ],
        },
      },
      single,
      single,
    );
    const rules = await runBatch(BAD_SET);
    const calls = ruleWritingCalls(fake);
    expect(calls).toHaveLength(3);
    expect(calls[0]!.batched).toBe(true);
    for (const id of BAD_SET) expect(calls[0]!.prompt).toContain(`## ${id}`);
    // Then one single-rule call each, in either order: the left-out CVE's first attempt, and the
    // wrong one's retry with its checks' feedback.
    const singles = calls.slice(1);
    for (const c of singles) {
      expect(c.batched).toBe(false);
      expect(c.prompt).not.toContain('## CVE-');
    }
    const named = singles.map((c) => /^CVE: (\S+)$/m.exec(c.prompt)?.[1]);
    expect(named.sort()).toEqual([wrong, missing].sort());
    expect(singles.find((c) => c.prompt.includes(`CVE: ${wrong}`))!.prompt).toContain(
      'previous statement failed',
    );

    for (const [i, id] of BAD_SET.entries()) testedAlone(id, rules[i]!, BAD_SET);
    const reportOf = (id: string) =>
      rules[BAD_SET.indexOf(id)]!.report as { attempts: number; notes: string[] };
    expect(reportOf(a)).toMatchObject({ attempts: 1 });
    expect(reportOf(a).notes).toContain('llm: written in one call with 3 other CVE(s)');
    expect(reportOf(wrong).attempts).toBe(2);
    expect(reportOf(missing).attempts).toBe(1);
    expect(reportOf(missing).notes).not.toContain('llm: written in one call with 3 other CVE(s)');
  }, 120_000);

  it.runIf(kind === 'sqs')(
    'the worker Lambda: an event with two of a batch of four makes one call of two, without waiting out the window',
    async () => {
      // The long-running consumer would take the messages: from here on the Lambda runs them. Its
      // last long poll was aborted; until the fake has answered it, it could still take (and strand
      // for the visibility timeout) a message sent now, as SQS itself could.
      await h.stopWorker();
      await waitFor('the stopped consumer’s last poll to end', async () => sqs!.receiving() === 0);
      fake.reset();
      fake.script('openai', anyCall, anyCall);
      const jobs: { jobId: string }[] = [];
      // Two jobs ask for a batch of four, two name none and take the Lambda's WAFGEN_LLM_BATCH (4):
      // both kinds must be cut to the records of their event.
      for (const [i, cveId] of LAMBDA_SET.entries())
        jobs.push(await producer.jobs.enqueue({ cveId, source: 'test', ...(i < 2 ? { llmBatch: 4 } : {}) }));
      // What the event source mapping does: receive, and hand the records over as an SQS event.
      const client = new SQSClient({ endpoint: sqs!.url, region: 'us-east-1' });
      const records: SqsEventRecord[] = [];
      try {
        await waitFor('the four messages', async () => {
          records.push(...(await receiveEventRecords(client, env.WAFGEN_SQS_QUEUE_URL!)));
          return records.length >= 4;
        });
      } finally {
        client.destroy();
      }
      expect(records).toHaveLength(4);
      const running = await openService(env, {
        component: 'worker',
        inProcessWorker: false,
        requireAuth: false,
        logger: log,
        audit: false,
      });
      const batchBefore = process.env.WAFGEN_LLM_BATCH;
      process.env.WAFGEN_LLM_BATCH = '4';
      try {
        const handler = createSqsHandler(() => Promise.resolve(running));
        // Two invocations of two records each: a batch of four could never fill in either.
        expect(await handler({ Records: records.slice(0, 2) })).toEqual({ batchItemFailures: [] });
        expect(await handler({ Records: records.slice(2) })).toEqual({ batchItemFailures: [] });
      } finally {
        if (batchBefore === undefined) delete process.env.WAFGEN_LLM_BATCH;
        else process.env.WAFGEN_LLM_BATCH = batchBefore;
        await running.close();
      }
      const calls = ruleWritingCalls(fake);
      expect(calls).toHaveLength(2);
      const cvesOf = (c: { prompt: string }) => [...c.prompt.matchAll(/^## (CVE-\S+)$/gm)].map((m) => m[1]!);
      for (const c of calls) {
        expect(c.batched).toBe(true);
        expect(cvesOf(c)).toHaveLength(2);
      }
      expect(calls.flatMap(cvesOf).sort()).toEqual([...LAMBDA_SET].sort());
      for (const j of jobs) expect((await store.jobs.get(j.jobId))?.status).toBe('succeeded');
      for (const id of LAMBDA_SET) {
        const stored = (await store.rules.latest(id))!;
        testedAlone(id, stored, LAMBDA_SET);
        expect((stored.report as { notes: string[] }).notes).toContain(
          'llm: written in one call with 1 other CVE(s)',
        );
      }
    },
    120_000,
  );
});

// `wafgen serve`'s in-process worker (the memory queue): WAFGEN_LLM_BATCH larger than the jobs it
// runs at once is cut to them, as the separate worker does. Uncut, a batch of 8 on a consumer of 2
// could never fill and each job would wait out the 60 s window (past waitFor's bound here).
describe('memory queue: the in-process worker cuts WAFGEN_LLM_BATCH to its concurrency', () => {
  const SET = ['CVE-2017-5638', 'CVE-2022-22965'];
  const statements = new Map<string, unknown>();
  let fake: FakeLlm;
  let running: Awaited<ReturnType<typeof openService>> | undefined;

  beforeAll(async () => {
    for (const id of SET) statements.set(id, (await generateRule(id)).rule.Statement);
    fake = await startFakeLlm();
  }, 60_000);

  afterAll(async () => {
    await running?.close();
    await fake?.close();
  });

  it('two jobs that name no batch go out as one call of two', async () => {
    fake.script('openai', {
      respond: (prompt: string) => ({
        rules: [...prompt.matchAll(/^## (CVE-\S+)$/gm)].map((m) => ({
          cveId: m[1]!,
          rationale,
          statement: statements.get(m[1]!),
        })),
      }),
    });
    running = await openService(
      baseEnv({
        REDIS_URL: undefined,
        ...openAiServiceEnv(fake),
        WAFGEN_LLM_BATCH: '8',
        WAFGEN_LLM_BATCH_WINDOW_MS: '60000',
        WAFGEN_WORKER_CONCURRENCY: '2',
        WAFGEN_AUDIT_FSYNC: '0',
      }),
      { requireAuth: false, logger: log, audit: false },
    );
    const { service } = running;
    expect(service.queue.kind).toBe('memory');
    const jobs = await Promise.all(SET.map((cveId) => service.jobs.enqueue({ cveId, source: 'test' })));
    await waitFor('both jobs to finish', async () => {
      const rows = await Promise.all(jobs.map((j) => service.store.jobs.get(j.jobId)));
      return rows.every((r) => r?.status === 'succeeded');
    });
    const calls = fake.requestsFor('openai').map((r) => promptTextOf(r.body));
    expect(calls).toHaveLength(1);
    expect([...calls[0]!.matchAll(/^## (CVE-\S+)$/gm)].map((m) => m[1]).sort()).toEqual([...SET].sort());
    for (const id of SET)
      expect(((await service.store.rules.latest(id))!.report as { notes: string[] }).notes).toContain(
        'llm: written in one call with 1 other CVE(s)',
      );
  }, 60_000);
});
