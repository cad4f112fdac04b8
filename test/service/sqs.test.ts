// The serverless stack end to end, on a real PostgreSQL database, the real SDK v3 clients and
// loopback servers speaking SQS's and Secrets Manager's protocols: the API Lambda queues jobs to
// SQS, the worker Lambda runs them from SQS events (partial batch responses), the jobs route reads
// their state from the store; every entry point reads its keys from Secrets Manager once; a
// serverless API with no queue refuses async work with 503; and `wafgen worker`-style processes on
// SQS, one killed with SIGKILL mid-job, lose no job and run none twice to completion.
import { createHmac } from 'node:crypto';

import { DeleteMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createLambdaHandler } from '../../src/api/adapters/lambda.js';
import { createFetchHandler } from '../../src/api/adapters/vercel.js';
import { createRuntime, lazyRuntime } from '../../src/api/runtime.js';
import { openService, type RunningService } from '../../src/app/index.js';
import type { Store } from '../../src/store/index.js';
import { runWorker } from '../../src/worker/index.js';
import { createSqsHandler } from '../../src/worker/lambda.js';
import { startFakeSecretsManager, type FakeSecretsManager } from '../support/fake-aws/secrets-manager.js';
import { receiveEventRecords, startFakeSqs, type FakeSqs } from '../support/fake-aws/sqs.js';
import {
  baseEnv,
  createTestDatabase,
  openPostgresStore,
  postgresAdminUrl,
  spawnTs,
  token,
  waitFor,
  WEBHOOK_SECRET,
  type Child,
  type TestDatabase,
} from './support.js';

const JWT_SECRET = 'jwt-secret-from-secrets-manager-0123456789abcdef';
const credentials = { AWS_ACCESS_KEY_ID: 'AKIDLOCALTEST', AWS_SECRET_ACCESS_KEY: 'local-test-secret-key' };
const saved = { ...process.env };

const adminUrl = await postgresAdminUrl();
let db: TestDatabase;
let store: Store;
let sqs: FakeSqs;
let secrets: FakeSecretsManager;
let queueUrl: string;
let dlqUrl: string;
let secretArn: string;
const closers: (() => Promise<unknown>)[] = [];
const children: Child[] = [];

beforeAll(async () => {
  if (!adminUrl) return;
  db = await createTestDatabase(adminUrl);
  store = await openPostgresStore(db.url);
  sqs = await startFakeSqs();
  secrets = await startFakeSecretsManager();
  dlqUrl = sqs.createQueue('wafgen-dlq.fifo');
  queueUrl = sqs.createQueue('wafgen-jobs.fifo', {
    visibilityTimeoutS: 4,
    deadLetter: { url: dlqUrl, maxReceiveCount: 4 },
  });
  // DATABASE_URL and the JWT key come only from the secret: an entry point that did not read it
  // would open the embedded store and reject every token.
  secretArn = secrets.put({
    name: 'wafgen/serverless',
    secretString: JSON.stringify({ DATABASE_URL: db.url, WAFGEN_JWT_SECRET: JWT_SECRET }),
  });
  Object.assign(process.env, credentials, { AWS_EC2_METADATA_DISABLED: 'true' });
}, 60_000);

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await Promise.all(children.map((c) => c.exited));
  for (const close of closers.reverse()) await close().catch(() => {});
  await store?.close();
  await sqs?.close();
  await secrets?.close();
  await db?.drop();
  for (const k of [...Object.keys(credentials), 'AWS_EC2_METADATA_DISABLED']) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
});

/** The serverless environment: SQS queue, keys in Secrets Manager (never in the environment). */
function serverlessEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  return baseEnv({
    ...credentials,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    WAFGEN_JWT_SECRET: undefined,
    WAFGEN_SECRETS_ARN: secretArn,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.url,
    WAFGEN_QUEUE: 'sqs',
    WAFGEN_SQS_QUEUE_URL: queueUrl,
    WAFGEN_SQS_DLQ_URL: dlqUrl,
    WAFGEN_SQS_REGION: 'us-east-1',
    AWS_ENDPOINT_URL_SQS: sqs.url,
    // Generous on a loaded machine; the SIGKILL test shortens the lease to see redelivery soon.
    WAFGEN_SQS_VISIBILITY_TIMEOUT_S: '60',
    WAFGEN_SQS_WAIT_S: '1',
    WAFGEN_GENERATE_TIMEOUT_MS: '30000',
    WAFGEN_JOB_BACKOFF_MS: '0',
    ...extra,
  });
}

function httpEvent(method: string, rawPath: string, headers: Record<string, string>, body?: string) {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath,
    rawQueryString: '',
    headers: { host: 'api.example', 'x-forwarded-for': '203.0.113.10', ...headers },
    requestContext: {
      accountId: '123456789012',
      apiId: 'def456',
      domainName: 'api.example',
      domainPrefix: 'api',
      http: { method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '203.0.113.10', userAgent: 'test' },
      requestId: 'req-1',
      routeKey: '$default',
      stage: '$default',
      time: '05/Dec/2026:00:00:00 +0000',
      timeEpoch: 1_796_428_800_000,
    },
    isBase64Encoded: false,
    ...(body !== undefined ? { body } : {}),
  };
}

/** The API Lambda on its own serverless environment (closed after the test file). */
function apiLambda() {
  const apiEnv = serverlessEnv();
  const api = lazyRuntime(() => createRuntime(apiEnv, { inProcessWorker: false }));
  closers.push(async () => (await api()).close());
  return { api, apiHandler: createLambdaHandler(api) };
}

/** The service as the worker Lambda opens it. */
const workerService = (env: NodeJS.ProcessEnv) =>
  openService(env, { component: 'worker', inProcessWorker: false, requireAuth: false });

describe.skipIf(!adminUrl)('serverless on SQS', () => {
  it('API Lambda queues, worker Lambda runs, the jobs route reads the result; one secret read', async () => {
    const { api, apiHandler } = apiLambda();
    const workerEnv = serverlessEnv();
    let worker: Promise<RunningService> | undefined;
    const workerHandler = createSqsHandler(() => (worker ??= workerService(workerEnv)));
    closers.push(async () => (await worker)?.close());
    const fetchesBefore = secrets.calls.length;
    const auth = { authorization: `Bearer ${await token({}, { secret: JWT_SECRET })}` };

    const posted = await apiHandler(
      httpEvent(
        'POST',
        '/v1/jobs',
        { ...auth, 'content-type': 'application/json' },
        JSON.stringify({ cveIds: ['CVE-2021-44228', 'CVE-2022-22965', 'CVE-2000-0001'] }),
      ) as never,
    );
    expect(posted.statusCode).toBe(202);
    const jobs = (JSON.parse(posted.body) as { jobs: { jobId: string; cveId: string }[] }).jobs;
    expect(jobs).toHaveLength(3);
    expect((await api()).service.queue.kind).toBe('sqs');
    // The API reads DATABASE_URL from the secret: its job records are in PostgreSQL.
    expect(await store.jobs.get(jobs[0]!.jobId)).toMatchObject({ status: 'queued' });
    expect(sqs.bodies(queueUrl)).toHaveLength(3);

    const client = new SQSClient({ region: 'us-east-1', endpoint: sqs.url });
    const records = await receiveEventRecords(client, queueUrl);
    expect(records).toHaveLength(3);
    const result = await workerHandler({ Records: records });
    // CVE-2000-0001 is in no store and the look-up is offline: a permanent failure, dead-lettered,
    // not a batch item failure; the others succeed. The mapping deletes what is not reported.
    expect(result).toEqual({ batchItemFailures: [] });
    for (const r of records)
      await client.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: r.receiptHandle }));
    expect(sqs.bodies(dlqUrl)).toHaveLength(1);

    for (const job of jobs) {
      const res = await apiHandler(httpEvent('GET', `/v1/jobs/${job.jobId}`, auth) as never);
      expect(res.statusCode).toBe(200);
      const body = JSON.parse(res.body) as {
        status: string;
        attempts: number;
        result?: { version?: number };
      };
      if (job.cveId === 'CVE-2000-0001') expect(body.status).toBe('dead');
      else expect(body).toMatchObject({ status: 'succeeded', attempts: 1, result: { version: 1 } });
    }
    // Two entry points in this process, one cache: the secret was read once.
    expect(secrets.calls.length - fetchesBefore).toBe(1);
    expect(workerEnv.DATABASE_URL).toBe(db.url);
    expect((await worker)!.service.store.kind).toBe('postgres');
    client.destroy();
  }, 60_000);

  it('a worker Lambda whose service was opened again (rotated secrets) runs the next batch on the new one', async () => {
    const { apiHandler } = apiLambda();
    const workerEnv = serverlessEnv();
    const open = () => workerService(workerEnv);
    // What reusedService hands out: one service, then (after a rotation closed it) a new one.
    let current = await open();
    closers.push(async () => current.close());
    const workerHandler = createSqsHandler(() => Promise.resolve(current));
    const auth = { authorization: `Bearer ${await token({}, { secret: JWT_SECRET })}` };
    const client = new SQSClient({ region: 'us-east-1', endpoint: sqs.url });
    const runOne = async (cveId: string) => {
      const posted = await apiHandler(
        httpEvent(
          'POST',
          '/v1/jobs',
          { ...auth, 'content-type': 'application/json' },
          JSON.stringify({ cveIds: [cveId] }),
        ) as never,
      );
      expect(posted.statusCode).toBe(202);
      const [job] = (JSON.parse(posted.body) as { jobs: { jobId: string }[] }).jobs;
      const records = await receiveEventRecords(client, queueUrl);
      expect(records).toHaveLength(1);
      const result = await workerHandler({ Records: records });
      for (const r of records)
        await client.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: r.receiptHandle }));
      return { result, status: (await store.jobs.get(job!.jobId))?.status };
    };
    expect(await runOne('CVE-2017-5638')).toEqual({
      result: { batchItemFailures: [] },
      status: 'succeeded',
    });
    const first = current;
    await first.close();
    current = await open();
    // Before: the handler kept the first service's job hooks (its closed store, its old keys).
    expect(await runOne('CVE-2019-3396')).toEqual({
      result: { batchItemFailures: [] },
      status: 'succeeded',
    });
    client.destroy();
  }, 60_000);

  it('a serverless API with no queue refuses async work with 503 (Vercel, Lambda: jobs and webhook), and still serves reads', async () => {
    const env = serverlessEnv({
      WAFGEN_QUEUE: undefined,
      WAFGEN_SQS_QUEUE_URL: undefined,
      WAFGEN_SQS_DLQ_URL: undefined,
    });
    const runtime = lazyRuntime(() => createRuntime(env, { inProcessWorker: false }));
    closers.push(async () => (await runtime()).close());
    const handler = createFetchHandler(runtime);
    const auth = `Bearer ${await token({}, { secret: JWT_SECRET })}`;
    const res = await handler(
      new Request('https://wafgen.vercel.app/v1/jobs', {
        method: 'POST',
        headers: { authorization: auth, 'content-type': 'application/json' },
        body: JSON.stringify({ cveId: 'CVE-2023-27350' }),
      }),
    );
    expect(res.status).toBe(503);
    const error = ((await res.json()) as { error: { code: string; message: string } }).error;
    expect(error.code).toBe('queue_unavailable');
    expect(error.message).toMatch(/WAFGEN_QUEUE=sqs/);
    // Nothing was recorded as queued that nothing would run.
    expect(await store.jobs.list({ cveId: 'CVE-2023-27350' })).toEqual([]);
    const read = await handler(
      new Request('https://wafgen.vercel.app/v1/jobs/gen-none', { headers: { authorization: auth } }),
    );
    // The token was accepted (the JWT key came from Secrets Manager): a 404, not a 401.
    expect(read.status).toBe(404);
    // The Lambda handler on the same runtime: the jobs route and a signed webhook finding alike.
    const lambda = createLambdaHandler(runtime);
    const jobs = await lambda(
      httpEvent(
        'POST',
        '/v1/jobs',
        { authorization: auth, 'content-type': 'application/json' },
        JSON.stringify({ cveId: 'CVE-2023-27350' }),
      ) as never,
    );
    expect([jobs.statusCode, JSON.parse(jobs.body).error.code]).toEqual([503, 'queue_unavailable']);
    const body = JSON.stringify({ findings: [{ cveId: 'CVE-2023-27350', severity: 'critical' }] });
    const ts = String(Math.floor(Date.now() / 1000));
    const signature = createHmac('sha256', WEBHOOK_SECRET).update(`${ts}.${body}`).digest('hex');
    const hook = await lambda(
      httpEvent(
        'POST',
        '/webhook/vulnerability',
        {
          'content-type': 'application/json',
          'x-wafgen-timestamp': ts,
          'x-wafgen-signature': `sha256=${signature}`,
        },
        body,
      ) as never,
    );
    expect([hook.statusCode, JSON.parse(hook.body).error.code]).toEqual([503, 'queue_unavailable']);
    expect(await store.jobs.list({ cveId: 'CVE-2023-27350' })).toEqual([]);
  }, 60_000);

  it('loses no job and runs none twice when a worker process is killed with SIGKILL mid-job', async () => {
    const producer = await openService(serverlessEnv(), {
      component: 'test',
      inProcessWorker: false,
      requireAuth: false,
    });
    closers.push(() => producer.close());
    const cves = ['CVE-2023-27350', 'CVE-2019-11510', 'CVE-2021-26084', 'CVE-2022-1388'];
    const ids: string[] = [];
    for (const cveId of cves)
      ids.push((await producer.service.jobs.enqueue({ cveId, source: 'test' })).jobId);
    const workerEnv = (delayMs: number) =>
      // slow-worker.ts builds the service itself (no openService): its keys are given directly.
      serverlessEnv({
        DATABASE_URL: db.url,
        WAFGEN_JWT_SECRET: JWT_SECRET,
        WAFGEN_TEST_ENGINE_DELAY_MS: String(delayMs),
        WAFGEN_SQS_VISIBILITY_TIMEOUT_S: '4',
        WAFGEN_GENERATE_TIMEOUT_MS: '3500',
        WAFGEN_WORKER_CONCURRENCY: '2',
      });
    const a = spawnTs('test/service/slow-worker.ts', [], workerEnv(3000));
    children.push(a);
    await a.waitFor(/generating CVE-/, 30_000);
    a.kill('SIGKILL');
    expect(await a.exited).toBeNull();
    const b = spawnTs('test/service/slow-worker.ts', [], workerEnv(50));
    children.push(b);
    await waitFor(
      'every job to succeed',
      async () => {
        const rows = await Promise.all(ids.map((id) => store.jobs.get(id)));
        return rows.every((r) => r?.status === 'succeeded');
      },
      40_000,
      200,
    );
    // The worker writes "job … succeeded" after the store says so: stop it (its exit waits for its
    // running jobs) and read its output to the end (`exited` does) before counting; counting at
    // once missed a line still in the pipe on a loaded machine.
    b.kill('SIGTERM');
    expect(await b.exited).toBe(0);
    const output = a.output() + b.output();
    for (const id of ids) {
      // Completed exactly once, across both processes.
      expect(output.split('\n').filter((l) => l === `job ${id} succeeded`)).toHaveLength(1);
    }
    // The killed worker's jobs (those it was generating, and any it had received) were delivered
    // again, and each delivery was an attempt; the job it was generating is among them.
    const killed = /generating (CVE-[\d-]+)/.exec(a.output())![1]!;
    for (const [i, cve] of cves.entries()) {
      const deliveries = sqs.deliveries.filter((d) => d.body.includes(`"id":"${ids[i]}"`)).length;
      expect((await store.jobs.get(ids[i]!))!.attempts).toBe(deliveries);
      // Redelivered at least once (more when a loaded machine timed its generation out: a retry).
      if (cve === killed) expect(deliveries).toBeGreaterThanOrEqual(2);
    }
    expect(sqs.bodies(queueUrl)).toEqual([]);
  }, 90_000);

  it('wafgen worker consumes SQS (no Redis), and stops cleanly', async () => {
    const env = serverlessEnv({ DATABASE_URL: db.url, WAFGEN_JWT_SECRET: JWT_SECRET });
    const worker = await runWorker(env, { threads: 0, concurrency: 2 });
    closers.push(() => worker.stop());
    expect(worker.running.service.queue.kind).toBe('sqs');
    // A CVE no other test here queued: a new job, run by this worker.
    const { jobId, created } = await worker.running.service.jobs.enqueue({
      cveId: 'CVE-2021-41773',
      source: 'test',
    });
    expect(created).toBe(true);
    await waitFor('the job', async () => (await store.jobs.get(jobId))?.status === 'succeeded', 30_000);
    expect(await worker.stop()).toEqual({ abandoned: [] });
    await expect(runWorker(baseEnv({ DATABASE_URL: db.url }))).rejects.toThrow(
      /needs REDIS_URL \(the BullMQ queue\) or WAFGEN_QUEUE=sqs/,
    );
  }, 60_000);
});
