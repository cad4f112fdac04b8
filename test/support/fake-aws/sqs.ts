// A local fake of Amazon SQS, enough of its JSON protocol for the real SDK v3 client:
//
//   POST /  X-Amz-Target: AmazonSQS.<Operation>  Content-Type: application/x-amz-json-1.0
//   SigV4 Authorization header required (not verified)
//   errors: HTTP 400 {"__type": "com.amazonaws.sqs#<Code>", "message": …}
//
// Operations: SendMessage(Batch), ReceiveMessage (MaxNumberOfMessages, VisibilityTimeout,
// WaitTimeSeconds long polling), DeleteMessage(Batch), ChangeMessageVisibility(Batch),
// GetQueueAttributes, GetQueueUrl. Semantics kept: visibility timeouts, receive counts, a receipt
// handle per receive (only the latest one changes or deletes the message), redrive to a dead-letter
// queue after maxReceiveCount receives, and FIFO queues (`.fifo`): a message group is locked while
// one of its messages is in flight, and a deduplication id is remembered for 5 minutes. MD5 digests
// are real (the SDK checks them). Queues are made by the test (createQueue), not over the wire.
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';

import type { SqsEventRecord } from '../../../src/queue/index.js';

const ACCOUNT = '123456789012';
const DEDUP_WINDOW_MS = 5 * 60_000;

interface FakeMessage {
  id: string;
  body: string;
  groupId?: string;
  dedupId?: string;
  sentAt: number;
  /** Not receivable before this time (delay or visibility timeout). */
  visibleAt: number;
  receiveCount: number;
  firstReceivedAt?: number;
  /** The latest receipt handle; undefined until received. */
  handle?: string;
  /** Received and not yet visible again. */
  inFlight: boolean;
  sequence: number;
}

interface FakeQueue {
  name: string;
  url: string;
  arn: string;
  fifo: boolean;
  visibilityTimeoutS: number;
  redrive?: { deadLetterTargetArn: string; maxReceiveCount: number };
  messages: FakeMessage[];
  dedup: Map<string, { id: string; at: number }>;
}

interface QueueOptions {
  /** Default 30 s, as SQS's. */
  visibilityTimeoutS?: number;
  /** The dead-letter queue (made first) and the receives after which a message moves there. */
  deadLetter?: { url: string; maxReceiveCount: number };
}

interface SqsCall {
  target: string;
  body: Record<string, unknown>;
}

/** What happened to messages, for the tests' counts. */
interface Delivery {
  queue: string;
  messageId: string;
  receiveCount: number;
  body: string;
}

export interface FakeSqs {
  /** The endpoint (every queue URL starts with it). */
  url: string;
  calls: SqsCall[];
  deliveries: Delivery[];
  /** Messages moved to a dead-letter queue by the redrive policy. */
  redriven: string[];
  createQueue(name: string, opts?: QueueOptions): string;
  /** Bodies of the messages a queue holds now, visible or not. */
  bodies(url: string): string[];
  /**
   * ReceiveMessage calls still being answered (long polls). A client that aborts one is not told
   * whether it took messages; as on SQS, those stay invisible for the visibility timeout. A test
   * that stops a consumer and then needs every new message waits for this to reach 0.
   */
  receiving(): number;
  /** The next `count` calls of `target` (e.g. `AmazonSQS.SendMessage`) answer with this error. */
  failNext(target: string, code: string, count?: number): void;
  close(): Promise<void>;
}

const md5 = (s: string): string => createHash('md5').update(s, 'utf8').digest('hex');

class SqsError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

function str(body: Record<string, unknown>, key: string, required = true): string | undefined {
  const v = body[key];
  if (v === undefined && !required) return undefined;
  if (typeof v !== 'string' || v === '') throw new SqsError('MissingParameter', `${key} is required`);
  return v;
}

function int(body: Record<string, unknown>, key: string, min: number, max: number): number | undefined {
  const v = body[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    throw new SqsError('InvalidParameterValue', `${key} must be an integer from ${min} to ${max}`);
  return v;
}

export async function startFakeSqs(): Promise<FakeSqs> {
  const queues = new Map<string, FakeQueue>();
  const calls: SqsCall[] = [];
  const deliveries: Delivery[] = [];
  const redriven: string[] = [];
  const failures: { target: string; code: string }[] = [];
  let sequence = 0;
  let base = '';
  /** Long polls under way (see FakeSqs.receiving). */
  let receiving = 0;

  const queueOf = (body: Record<string, unknown>): FakeQueue => {
    const url = str(body, 'QueueUrl')!;
    const q = queues.get(url);
    if (!q) throw new SqsError('QueueDoesNotExist', 'The specified queue does not exist.');
    return q;
  };

  const send = (q: FakeQueue, entry: Record<string, unknown>) => {
    const body = str(entry, 'MessageBody')!;
    if (Buffer.byteLength(body) > 262_144)
      throw new SqsError('InvalidParameterValue', 'message must be shorter than 262144 bytes');
    const delay = int(entry, 'DelaySeconds', 0, 900);
    let groupId: string | undefined;
    let dedupId: string | undefined;
    const now = Date.now();
    if (q.fifo) {
      if (delay !== undefined)
        throw new SqsError(
          'InvalidParameterValue',
          'DelaySeconds is not supported per message on FIFO queues',
        );
      groupId = str(entry, 'MessageGroupId')!;
      dedupId = str(entry, 'MessageDeduplicationId')!;
      const seen = q.dedup.get(dedupId);
      if (seen && now - seen.at < DEDUP_WINDOW_MS)
        return { MessageId: seen.id, MD5OfMessageBody: md5(body), SequenceNumber: String(sequence) };
    }
    const m: FakeMessage = {
      id: randomUUID(),
      body,
      ...(groupId ? { groupId } : {}),
      ...(dedupId ? { dedupId } : {}),
      sentAt: now,
      visibleAt: now + (delay ?? 0) * 1000,
      receiveCount: 0,
      inFlight: false,
      sequence: ++sequence,
    };
    if (dedupId) q.dedup.set(dedupId, { id: m.id, at: now });
    q.messages.push(m);
    return {
      MessageId: m.id,
      MD5OfMessageBody: md5(body),
      ...(q.fifo ? { SequenceNumber: String(m.sequence) } : {}),
    };
  };

  /** Messages that a receive may take now, in order, honouring FIFO group locks and redrive. */
  const take = (q: FakeQueue, max: number, visibilityS: number): FakeMessage[] => {
    const now = Date.now();
    const out: FakeMessage[] = [];
    const lockedGroups = new Set<string>();
    for (const m of q.messages) if (m.inFlight && m.visibleAt > now && m.groupId) lockedGroups.add(m.groupId);
    for (const m of [...q.messages]) {
      if (out.length >= max) break;
      if (m.visibleAt > now) continue;
      m.inFlight = false;
      if (m.groupId && lockedGroups.has(m.groupId)) continue;
      if (q.redrive && m.receiveCount >= q.redrive.maxReceiveCount) {
        const dlq = [...queues.values()].find((d) => d.arn === q.redrive!.deadLetterTargetArn);
        q.messages.splice(q.messages.indexOf(m), 1);
        if (dlq) {
          dlq.messages.push({ ...m, inFlight: false, visibleAt: now, handle: undefined });
          redriven.push(m.id);
        }
        continue;
      }
      m.receiveCount++;
      m.firstReceivedAt ??= now;
      m.handle = `${m.id}#${randomUUID()}`;
      m.inFlight = true;
      m.visibleAt = now + visibilityS * 1000;
      if (m.groupId) lockedGroups.add(m.groupId);
      out.push(m);
      deliveries.push({ queue: q.name, messageId: m.id, receiveCount: m.receiveCount, body: m.body });
    }
    return out;
  };

  const byHandle = (q: FakeQueue, handle: string): FakeMessage | undefined =>
    q.messages.find((m) => m.handle === handle);

  const changeVisibility = (q: FakeQueue, entry: Record<string, unknown>) => {
    const handle = str(entry, 'ReceiptHandle')!;
    const timeout = int(entry, 'VisibilityTimeout', 0, 43_200);
    if (timeout === undefined) throw new SqsError('MissingParameter', 'VisibilityTimeout is required');
    const m = byHandle(q, handle);
    if (!m) throw new SqsError('ReceiptHandleIsInvalid', 'The receipt handle is not valid.');
    if (!m.inFlight || m.visibleAt <= Date.now())
      throw new SqsError('MessageNotInflight', 'The message is not in flight.');
    m.visibleAt = Date.now() + timeout * 1000;
    if (timeout === 0) m.inFlight = false;
  };

  const remove = (q: FakeQueue, entry: Record<string, unknown>) => {
    const handle = str(entry, 'ReceiptHandle')!;
    // An older handle of a message received again: SQS answers success and keeps the message.
    const m = byHandle(q, handle);
    if (m) q.messages.splice(q.messages.indexOf(m), 1);
  };

  const batch = (
    body: Record<string, unknown>,
    each: (entry: Record<string, unknown>) => Record<string, unknown>,
  ): Record<string, unknown> => {
    const entries = body.Entries;
    if (!Array.isArray(entries) || entries.length === 0)
      throw new SqsError('EmptyBatchRequest', 'There should be at least one entry in the request.');
    if (entries.length > 10) throw new SqsError('TooManyEntriesInBatchRequest', 'at most 10 entries');
    const Successful: Record<string, unknown>[] = [];
    const Failed: Record<string, unknown>[] = [];
    for (const e of entries as Record<string, unknown>[]) {
      const Id = str(e, 'Id')!;
      try {
        Successful.push({ Id, ...each(e) });
      } catch (err) {
        if (!(err instanceof SqsError)) throw err;
        Failed.push({ Id, SenderFault: true, Code: err.code, Message: err.message });
      }
    }
    return { Successful, Failed };
  };

  const attributes = (q: FakeQueue): Record<string, string> => {
    const now = Date.now();
    let visible = 0;
    let notVisible = 0;
    let delayed = 0;
    for (const m of q.messages) {
      if (m.visibleAt <= now) visible++;
      else if (m.inFlight) notVisible++;
      else delayed++;
    }
    return {
      QueueArn: q.arn,
      ApproximateNumberOfMessages: String(visible),
      ApproximateNumberOfMessagesNotVisible: String(notVisible),
      ApproximateNumberOfMessagesDelayed: String(delayed),
      VisibilityTimeout: String(q.visibilityTimeoutS),
      FifoQueue: String(q.fifo),
      ...(q.redrive ? { RedrivePolicy: JSON.stringify(q.redrive) } : {}),
    };
  };

  const receive = async (
    q: FakeQueue,
    body: Record<string, unknown>,
    req: IncomingMessage,
  ): Promise<Record<string, unknown>> => {
    const max = int(body, 'MaxNumberOfMessages', 1, 10) ?? 1;
    const visibility = int(body, 'VisibilityTimeout', 0, 43_200) ?? q.visibilityTimeoutS;
    const wait = int(body, 'WaitTimeSeconds', 0, 20) ?? 0;
    const deadline = Date.now() + wait * 1000;
    let gone = false;
    req.socket.once('close', () => {
      gone = true;
    });
    let got = take(q, max, visibility);
    receiving++;
    try {
      while (got.length === 0 && Date.now() < deadline && !gone) {
        await new Promise((r) => setTimeout(r, 25));
        got = take(q, max, visibility);
      }
    } finally {
      receiving--;
    }
    return {
      Messages: got.map((m) => ({
        MessageId: m.id,
        ReceiptHandle: m.handle,
        MD5OfBody: md5(m.body),
        Body: m.body,
        Attributes: {
          ApproximateReceiveCount: String(m.receiveCount),
          SentTimestamp: String(m.sentAt),
          ApproximateFirstReceiveTimestamp: String(m.firstReceivedAt),
          ...(m.groupId ? { MessageGroupId: m.groupId } : {}),
          ...(m.dedupId ? { MessageDeduplicationId: m.dedupId } : {}),
        },
      })),
    };
  };

  const operate = async (
    target: string,
    body: Record<string, unknown>,
    req: IncomingMessage,
  ): Promise<Record<string, unknown>> => {
    switch (target) {
      case 'AmazonSQS.SendMessage':
        return send(queueOf(body), body);
      case 'AmazonSQS.SendMessageBatch': {
        const q = queueOf(body);
        return batch(body, (e) => send(q, e));
      }
      case 'AmazonSQS.ReceiveMessage':
        return receive(queueOf(body), body, req);
      case 'AmazonSQS.DeleteMessage':
        remove(queueOf(body), body);
        return {};
      case 'AmazonSQS.DeleteMessageBatch': {
        const q = queueOf(body);
        return batch(body, (e) => (remove(q, e), {}));
      }
      case 'AmazonSQS.ChangeMessageVisibility':
        changeVisibility(queueOf(body), body);
        return {};
      case 'AmazonSQS.ChangeMessageVisibilityBatch': {
        const q = queueOf(body);
        return batch(body, (e) => (changeVisibility(q, e), {}));
      }
      case 'AmazonSQS.GetQueueAttributes': {
        const all = attributes(queueOf(body));
        const names = Array.isArray(body.AttributeNames) ? (body.AttributeNames as string[]) : ['All'];
        const Attributes = names.includes('All')
          ? all
          : Object.fromEntries(Object.entries(all).filter(([k]) => names.includes(k)));
        return { Attributes };
      }
      case 'AmazonSQS.GetQueueUrl': {
        const name = str(body, 'QueueName')!;
        const q = [...queues.values()].find((x) => x.name === name);
        if (!q) throw new SqsError('QueueDoesNotExist', 'The specified queue does not exist.');
        return { QueueUrl: q.url };
      }
      default:
        throw new SqsError('UnknownOperationException', `operation ${target} is not supported`);
    }
  };

  const reply = (res: ServerResponse, status: number, body: unknown) => {
    if (res.destroyed) return;
    res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0' });
    res.end(JSON.stringify(body));
  };
  const fail = (res: ServerResponse, e: SqsError) => {
    if (res.destroyed) return;
    res.writeHead(e.status, {
      'content-type': 'application/x-amz-json-1.0',
      'x-amzn-query-error': `AWS.SimpleQueueService.${e.code};Sender`,
    });
    res.end(JSON.stringify({ __type: `com.amazonaws.sqs#${e.code}`, message: e.message }));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const target = String(req.headers['x-amz-target'] ?? '');
    let body: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
        throw new Error('not an object');
      body = parsed as Record<string, unknown>;
    } catch {
      return fail(res, new SqsError('SerializationException', 'body is not a JSON object'));
    }
    calls.push({ target, body });
    if (req.method !== 'POST') return fail(res, new SqsError('UnknownOperationException', 'POST only'));
    if (!/^AWS4-HMAC-SHA256 Credential=/.test(String(req.headers.authorization ?? '')))
      return fail(res, new SqsError('MissingAuthenticationToken', 'request is not signed', 403));
    const i = failures.findIndex((f) => f.target === target);
    if (i >= 0) {
      const [f] = failures.splice(i, 1);
      return fail(res, new SqsError(f!.code, 'injected failure', f!.code.startsWith('Internal') ? 500 : 400));
    }
    try {
      reply(res, 200, await operate(target, body, req));
    } catch (e) {
      if (e instanceof SqsError) fail(res, e);
      else throw e;
    }
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => fail(res, new SqsError('InternalError', 'fake failed', 500)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  base = `http://127.0.0.1:${port}`;
  return {
    url: base,
    calls,
    deliveries,
    redriven,
    createQueue(name, opts = {}) {
      const url = `${base}/${ACCOUNT}/${name}`;
      const redrive = opts.deadLetter
        ? {
            deadLetterTargetArn: queues.get(opts.deadLetter.url)?.arn ?? '',
            maxReceiveCount: opts.deadLetter.maxReceiveCount,
          }
        : undefined;
      queues.set(url, {
        name,
        url,
        arn: `arn:aws:sqs:us-east-1:${ACCOUNT}:${name}`,
        fifo: name.endsWith('.fifo'),
        visibilityTimeoutS: opts.visibilityTimeoutS ?? 30,
        ...(redrive ? { redrive } : {}),
        messages: [],
        dedup: new Map(),
      });
      return url;
    },
    bodies: (url) => queues.get(url)?.messages.map((m) => m.body) ?? [],
    receiving: () => receiving,
    failNext(target, code, count = 1) {
      for (let i = 0; i < count; i++) failures.push({ target, code });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * What Lambda's event source mapping does: receives up to `max` messages of `queueUrl` with the
 * client given and shapes them as the SQS event's records (the attributes the worker Lambda reads).
 */
export async function receiveEventRecords(
  client: SQSClient,
  queueUrl: string,
  max = 10,
): Promise<SqsEventRecord[]> {
  const out = await client.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: max,
      WaitTimeSeconds: 1,
      MessageSystemAttributeNames: ['ApproximateReceiveCount', 'MessageGroupId'],
    }),
  );
  return (out.Messages ?? []).map((m) => ({
    messageId: m.MessageId!,
    receiptHandle: m.ReceiptHandle!,
    body: m.Body!,
    attributes: {
      ApproximateReceiveCount: m.Attributes!.ApproximateReceiveCount!,
      MessageGroupId: m.Attributes!.MessageGroupId!,
    },
  }));
}

/** Credentials the fake accepts (any would do; these name themselves as local). */
export const LOCAL_AWS_CREDENTIALS = {
  AWS_ACCESS_KEY_ID: 'AKIDLOCALTEST',
  AWS_SECRET_ACCESS_KEY: 'local-test-secret-key',
} as const;

/**
 * wafgen's SQS settings (WAFGEN_QUEUE=sqs) for a new FIFO queue `<name>.fifo` of `sqs`, with its
 * dead-letter queue `<name>-dlq.fifo` after 5 receives, and the local credentials. The AWS SDK's
 * default credential chain reads the process's environment: a test that lets wafgen build its own
 * client also sets {@link LOCAL_AWS_CREDENTIALS} there.
 */
export function sqsQueueEnv(sqs: FakeSqs, name: string): Record<string, string> {
  const dlq = sqs.createQueue(`${name}-dlq.fifo`);
  return {
    ...LOCAL_AWS_CREDENTIALS,
    AWS_EC2_METADATA_DISABLED: 'true',
    WAFGEN_QUEUE: 'sqs',
    WAFGEN_SQS_QUEUE_URL: sqs.createQueue(`${name}.fifo`, {
      visibilityTimeoutS: 120,
      deadLetter: { url: dlq, maxReceiveCount: 5 },
    }),
    WAFGEN_SQS_DLQ_URL: dlq,
    WAFGEN_SQS_REGION: 'us-east-1',
    AWS_ENDPOINT_URL_SQS: sqs.url,
    WAFGEN_SQS_WAIT_S: '1',
  };
}
