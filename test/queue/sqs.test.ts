// The SQS queue through the real SDK v3 against a local server speaking SQS's JSON protocol
// (test/support/fake-aws/sqs.ts): idempotent adds, retries with backoff, dead letters, the
// heartbeat that holds a long job's lease, a dead worker's attempt, hand-back on close, and the
// worker Lambda's partial batch responses. Handlers here are plain functions; the job lifecycle
// with the store, the API and killed worker processes is in test/service/sqs.test.ts.
import { ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadServiceConfig } from '../../src/app/index.js';
import {
  PermanentJobError,
  processSqsRecords,
  SqsJobQueue,
  type ConsumerHooks,
  type JobContext,
  type SqsEventRecord,
  type SqsQueueSettings,
} from '../../src/queue/index.js';
import { handler } from '../../src/worker/lambda.js';
import { receiveEventRecords, startFakeSqs, type FakeSqs } from '../support/fake-aws/sqs.js';
import { sleep, waitFor } from '../service/support.js';

const credentials = { accessKeyId: 'AKIDLOCALTEST', secretAccessKey: 'local-test-secret-key' };
const saved = { ...process.env };
let fake: FakeSqs;
let n = 0;

const until = (what: string, check: () => boolean | Promise<boolean>) =>
  waitFor(what, async () => await check(), 15_000, 50);

beforeAll(async () => {
  fake = await startFakeSqs();
  process.env.AWS_ACCESS_KEY_ID = credentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = credentials.secretAccessKey;
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
});

afterAll(async () => {
  for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_EC2_METADATA_DISABLED']) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
  await fake.close();
});

/** A fresh FIFO queue and its dead-letter queue (redrive after `maxReceiveCount`, default attempts + 1). */
function queues(opts: { visibilityTimeoutS?: number; attempts?: number; backoffMs?: number } = {}) {
  n++;
  const attempts = opts.attempts ?? 3;
  const dlqUrl = fake.createQueue(`jobs-dlq-${n}.fifo`);
  const queueUrl = fake.createQueue(`jobs-${n}.fifo`, {
    visibilityTimeoutS: opts.visibilityTimeoutS ?? 30,
    deadLetter: { url: dlqUrl, maxReceiveCount: attempts + 1 },
  });
  const sqs: SqsQueueSettings = {
    queueUrl,
    dlqUrl,
    region: 'us-east-1',
    endpoint: fake.url,
    visibilityTimeoutS: opts.visibilityTimeoutS ?? 30,
    waitTimeS: 1,
  };
  return { sqs, queue: new SqsJobQueue(sqs, { attempts, backoffMs: opts.backoffMs ?? 0 }) };
}

interface Recorder extends ConsumerHooks {
  runs: JobContext[];
  done: string[];
  failures: { id: string; final: boolean; message: string }[];
}

function recorder(run: (job: JobContext) => Promise<void> = async () => {}): Recorder {
  const r: Recorder = {
    runs: [],
    done: [],
    failures: [],
    async handler(job) {
      r.runs.push(job);
      await run(job);
      r.done.push(job.id);
    },
    async onFailure({ job, error, final }) {
      r.failures.push({ id: job.id, final, message: error.message });
    },
  };
  return r;
}

describe('configuration', () => {
  const base = {
    WAFGEN_QUEUE: 'sqs',
    WAFGEN_SQS_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/wafgen-jobs.fifo',
  };

  it('reads the queue, its dead-letter queue and the region from the URL', () => {
    const sqs = loadServiceConfig({
      ...base,
      WAFGEN_SQS_DLQ_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/wafgen-dlq.fifo',
    }).settings.sqs;
    expect(sqs).toEqual({
      queueUrl: base.WAFGEN_SQS_QUEUE_URL,
      dlqUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/wafgen-dlq.fifo',
      region: 'eu-west-1',
      visibilityTimeoutS: 300,
      waitTimeS: 20,
    });
    expect(loadServiceConfig({}).settings.sqs).toBeUndefined();
  });

  it('names each mistake: no URL, a standard queue, a lease shorter than a generation, SQS unasked', () => {
    expect(() => loadServiceConfig({ WAFGEN_QUEUE: 'sqs' })).toThrow(/WAFGEN_SQS_QUEUE_URL is required/);
    expect(() =>
      loadServiceConfig({ ...base, WAFGEN_SQS_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/1/jobs' }),
    ).toThrow(/WAFGEN_SQS_QUEUE_URL must be the URL of a FIFO queue/);
    expect(() =>
      loadServiceConfig({
        ...base,
        WAFGEN_SQS_VISIBILITY_TIMEOUT_S: '60',
        WAFGEN_GENERATE_TIMEOUT_MS: '60000',
      }),
    ).toThrow(/WAFGEN_SQS_VISIBILITY_TIMEOUT_S must be longer than WAFGEN_GENERATE_TIMEOUT_MS/);
    expect(() =>
      loadServiceConfig({ ...base, WAFGEN_SQS_QUEUE_URL: 'http://127.0.0.1:1/1/jobs.fifo' }),
    ).toThrow(/WAFGEN_SQS_REGION/);
    expect(() => loadServiceConfig({ WAFGEN_SQS_QUEUE_URL: base.WAFGEN_SQS_QUEUE_URL })).toThrow(
      /WAFGEN_QUEUE is not sqs/,
    );
    expect(() => loadServiceConfig({ WAFGEN_QUEUE: 'kafka' })).toThrow(/WAFGEN_QUEUE/);
  });
});

describe('SQS job queue', () => {
  it('adds a job once per id while it is pending; a rerun is a new message', async () => {
    const { queue, sqs } = queues();
    await queue.ping();
    for (let i = 0; i < 3; i++) await queue.add('gen-CVE-2021-44228-x', { cveId: 'CVE-2021-44228' });
    await queue.add('gen-CVE-2022-22965-x', { cveId: 'CVE-2022-22965' });
    expect(fake.bodies(sqs.queueUrl)).toHaveLength(2);
    expect(await queue.counts()).toMatchObject({ waiting: 2, active: 0, failed: 0 });
    expect(await queue.snapshot()).toMatchObject({ depth: 2 });
    await queue.add('gen-CVE-2021-44228-x', { cveId: 'CVE-2021-44228' }, { rerun: true });
    expect(fake.bodies(sqs.queueUrl)).toHaveLength(3);
    // SQS cannot find a message by id: the store's record is the job's state.
    expect(await queue.get('gen-CVE-2021-44228-x')).toBeUndefined();
    await queue.close();
  });

  it('never runs two deliveries of one job at once, even across consumers', async () => {
    const { queue, sqs } = queues();
    let running = 0;
    let most = 0;
    const hooks = recorder(async () => {
      running++;
      most = Math.max(most, running);
      await sleep(300);
      running--;
    });
    // A duplicate sent past SQS's deduplication window: the same group, a new deduplication id.
    await queue.add('job-a', { cveId: 'CVE-2021-44228' });
    await queue.add('job-a', { cveId: 'CVE-2021-44228' }, { rerun: true });
    const a = queue.consume(hooks, { concurrency: 4 });
    const b = queue.consume(hooks, { concurrency: 4 });
    // A delivery's message is deleted after its handler returns: wait for both to be gone too
    // (checking at once failed on a loaded machine with the last delete still in flight).
    await until(
      'both deliveries, done and deleted',
      () => hooks.done.length === 2 && fake.bodies(sqs.queueUrl).length === 0,
    );
    expect(most).toBe(1);
    expect(hooks.done).toEqual(['job-a', 'job-a']);
    await Promise.all([a.close(1000), b.close(1000)]);
    await queue.close();
  });

  it('retries with backoff, then dead-letters a job that fails every attempt', async () => {
    const { queue, sqs } = queues({ attempts: 3, backoffMs: 1000 });
    const hooks = recorder(async (job) => {
      if (job.data.cveId === 'CVE-2000-0001') throw new Error('flaky');
      if (job.data.cveId === 'CVE-2000-0002') throw new PermanentJobError('never works');
    });
    await queue.add('always-fails', { cveId: 'CVE-2000-0001' });
    await queue.add('permanent', { cveId: 'CVE-2000-0002' });
    const consumer = queue.consume(hooks, { concurrency: 2 });
    await until('the dead letters', () => fake.bodies(sqs.dlqUrl!).length === 2);
    await consumer.close(1000);
    expect(hooks.runs.filter((r) => r.id === 'always-fails').map((r) => r.attempt)).toEqual([1, 2, 3]);
    expect(hooks.failures.filter((f) => f.id === 'always-fails').map((f) => f.final)).toEqual([
      false,
      false,
      true,
    ]);
    // The backoff, as the queue asked SQS for it: the message hidden 1 s, then 2 s (doubling).
    const backoffs = fake.calls
      .filter((c) => c.target === 'AmazonSQS.ChangeMessageVisibility' && c.body.QueueUrl === sqs.queueUrl)
      .map((c) => c.body.VisibilityTimeout);
    expect(backoffs).toEqual([1, 2]);
    expect(hooks.runs.filter((r) => r.id === 'permanent')).toHaveLength(1);
    expect(hooks.failures.find((f) => f.id === 'permanent')).toMatchObject({ final: true });
    expect(fake.bodies(sqs.queueUrl)).toEqual([]);
    const dead = fake.bodies(sqs.dlqUrl!).map((b) => (JSON.parse(b) as { id: string }).id);
    expect(dead.sort()).toEqual(['always-fails', 'permanent']);
    expect(await queue.counts()).toMatchObject({ failed: 2, waiting: 0 });
    await queue.close();
  }, 20_000);

  it('keeps renewing a running job past its visibility timeout: no second worker takes it', async () => {
    const { queue } = queues({ visibilityTimeoutS: 2 });
    const hooks = recorder(async () => void (await sleep(4500)));
    await queue.add('long', { cveId: 'CVE-2021-44228' });
    const a = queue.consume(hooks, { concurrency: 1 });
    const b = queue.consume(hooks, { concurrency: 1 });
    await until('the long job', () => hooks.done.length === 1);
    await sleep(200);
    expect(hooks.runs).toHaveLength(1);
    expect(fake.deliveries.filter((d) => d.body.includes('"id":"long"'))).toHaveLength(1);
    expect(fake.calls.some((c) => c.target === 'AmazonSQS.ChangeMessageVisibility')).toBe(true);
    await Promise.all([a.close(1000), b.close(1000)]);
    await queue.close();
  }, 15_000);

  it('counts a delivery whose worker vanished as an attempt, and dead-letters the job after the last', async () => {
    const { queue, sqs } = queues({ visibilityTimeoutS: 1, attempts: 2 });
    await queue.add('crashes', { cveId: 'CVE-2021-44228' });
    // Two receives that never answer: the workers died holding the message.
    const client = new SQSClient({ region: 'us-east-1', endpoint: fake.url, credentials });
    for (let i = 0; i < 2; i++) {
      await until('a delivery', async () => {
        const out = await client.send(
          new ReceiveMessageCommand({ QueueUrl: sqs.queueUrl, WaitTimeSeconds: 1 }),
        );
        return (out.Messages ?? []).length === 1;
      });
    }
    const hooks = recorder();
    const consumer = queue.consume(hooks, { concurrency: 1 });
    await until('the dead letter', () => fake.bodies(sqs.dlqUrl!).length === 1);
    await consumer.close(1000);
    expect(hooks.runs).toEqual([]);
    expect(hooks.failures).toEqual([
      { id: 'crashes', final: true, message: "the job's worker stopped on each of its 2 attempts" },
    ]);
    client.destroy();
    await queue.close();
  }, 15_000);

  it('the queue itself moves a message received maxReceiveCount times to the dead-letter queue', async () => {
    // The backstop behind the consumer's own dead-lettering (the fake's redrive, checked here).
    const dlq = fake.createQueue(`redrive-dlq-${++n}.fifo`);
    const url = fake.createQueue(`redrive-${n}.fifo`, {
      visibilityTimeoutS: 1,
      deadLetter: { url: dlq, maxReceiveCount: 2 },
    });
    const queue = new SqsJobQueue(
      {
        queueUrl: url,
        dlqUrl: dlq,
        region: 'us-east-1',
        endpoint: fake.url,
        visibilityTimeoutS: 1,
        waitTimeS: 1,
      },
      { attempts: 5, backoffMs: 0 },
    );
    await queue.add('abandoned', { cveId: 'CVE-2021-44228' });
    const client = new SQSClient({ region: 'us-east-1', endpoint: fake.url, credentials });
    const receive = async () =>
      (await client.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 2 }))).Messages ?? [];
    expect(await receive()).toHaveLength(1);
    expect(await receive()).toHaveLength(1);
    expect(await receive()).toHaveLength(0);
    expect(fake.bodies(url)).toEqual([]);
    expect(fake.bodies(dlq)).toHaveLength(1);
    expect(await queue.counts()).toMatchObject({ waiting: 0, failed: 1 });
    client.destroy();
    await queue.close();
  }, 15_000);

  it('dead-letters a message that is not a job without running anything', async () => {
    const { queue, sqs } = queues();
    const client = new SQSClient({ region: 'us-east-1', endpoint: fake.url, credentials });
    await client.send(
      new SendMessageCommand({
        QueueUrl: sqs.queueUrl,
        MessageBody: JSON.stringify({ v: 1, id: 'x', data: { cveId: 7 } }),
        MessageGroupId: 'g',
        MessageDeduplicationId: 'd',
      }),
    );
    const hooks = recorder();
    const consumer = queue.consume(hooks, { concurrency: 1 });
    await until('the dead letter', () => fake.bodies(sqs.dlqUrl!).length === 1);
    await consumer.close(1000);
    expect(hooks.runs).toEqual([]);
    client.destroy();
    await queue.close();
  });

  it('hands a job still running at the end of the grace period back to the queue', async () => {
    const { queue, sqs } = queues();
    const hooks = recorder(async () => void (await sleep(2000)));
    await queue.add('slow', { cveId: 'CVE-2021-44228' });
    const consumer = queue.consume(hooks, { concurrency: 1 });
    await until('the job to start', () => hooks.runs.length === 1);
    expect(consumer.running).toBe(1);
    const closed = await consumer.close(100);
    expect(closed).toEqual({ finished: false, returned: [expect.any(String)] });
    // Visible again at once, for another worker.
    expect(await queue.counts()).toMatchObject({ waiting: 1, active: 0 });
    expect(fake.bodies(sqs.queueUrl)).toHaveLength(1);
    await queue.close();
  });
});

describe('worker Lambda batches', () => {
  it('the exported handler refuses what is not an SQS event, before opening anything', async () => {
    await expect(handler({ httpMethod: 'GET', path: '/' })).rejects.toThrow(/takes SQS events/);
    await expect(handler({ Records: [{ messageId: 'x' }] })).rejects.toThrow(/takes SQS events/);
  });

  /** Receives up to `max` messages as the event source mapping would, shaped as Lambda's records. */
  async function receive(url: string, max: number): Promise<SqsEventRecord[]> {
    const client = new SQSClient({ region: 'us-east-1', endpoint: fake.url, credentials });
    try {
      return await receiveEventRecords(client, url, max);
    } finally {
      client.destroy();
    }
  }

  it('reports only the jobs that will be retried as batch item failures', async () => {
    const { queue, sqs } = queues({ attempts: 3, backoffMs: 60_000 });
    for (const cve of ['CVE-2021-44228', 'CVE-2000-0001', 'CVE-2000-0002', 'CVE-2022-22965'])
      await queue.add(`job-${cve}`, { cveId: cve });
    const hooks = recorder(async (job) => {
      if (job.data.cveId === 'CVE-2000-0001') throw new Error('flaky');
      if (job.data.cveId === 'CVE-2000-0002') throw new PermanentJobError('never works');
    });
    const records = await receive(sqs.queueUrl, 10);
    expect(records).toHaveLength(4);
    const result = await processSqsRecords(queue, hooks, records, { concurrency: 2 });
    const flaky = records.find((r) => r.body!.includes('CVE-2000-0001'))!;
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: flaky.messageId }] });
    expect(hooks.done.sort()).toEqual(['job-CVE-2021-44228', 'job-CVE-2022-22965']);
    // The permanent failure went to the dead-letter queue; the flaky one waits out its backoff.
    expect(fake.bodies(sqs.dlqUrl!)).toHaveLength(1);
    expect(await queue.counts()).toMatchObject({ waiting: 0 });
    await queue.close();
  });

  it('runs the messages of one job in order and leaves the rest of the group after a failure', async () => {
    const { queue } = queues();
    let calls = 0;
    const hooks = recorder(async () => {
      calls++;
      if (calls === 1) throw new Error('first fails');
    });
    const body = (id: string) => JSON.stringify({ v: 1, id, data: { cveId: 'CVE-2021-44228' } });
    const records: SqsEventRecord[] = ['m1', 'm2'].map((m) => ({
      messageId: m,
      receiptHandle: `${m}-handle`,
      body: body('same-job'),
      attributes: { ApproximateReceiveCount: '1', MessageGroupId: 'same-job' },
    }));
    // Handles from no real receive: the fake rejects the backoff's visibility change, so the
    // settlement fails; both stay failures and neither is lost.
    const result = await processSqsRecords(queue, hooks, records, { concurrency: 4 });
    expect(result.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(['m1', 'm2']);
    expect(hooks.runs).toHaveLength(1);
    await queue.close();
  });
});
