// Local stand-ins for the SIEM endpoints, on 127.0.0.1: Splunk HEC, Datadog logs intake and a
// signed webhook. Each records what it accepted and can be taken down (port closed) and brought
// back up on the same port, or told to answer with an error status.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifyWebhook } from '../../src/audit/index.js';

export type ReceiverKind = 'splunk' | 'datadog' | 'webhook';

interface Received {
  id: string;
  body: Record<string, unknown>;
}

export interface Receiver {
  kind: ReceiverKind;
  port: number;
  /** Base URL for the sink configuration. */
  url: string;
  /** Every event accepted, in arrival order. */
  events: Received[];
  /** Headers of every accepted request. */
  requests: { headers: IncomingMessage['headers']; path: string }[];
  /** Answer every request with this status (and Retry-After), instead of accepting. */
  failWith?: { status: number; retryAfter?: string; times?: number };
  /** Refuse (400) any batch holding an event with this id. */
  rejectId?: string;
  up(): Promise<void>;
  down(): Promise<void>;
}

export const TOKEN = '6d1c41c8-2b0e-4a9d-9a0f-3c7b2d9e1f55';
export const DD_KEY = 'f0e1d2c3b4a5968778695a4b3c2d1e0f';
export const WEBHOOK_SECRET = 'whsec-0123456789abcdef-test';

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parse(kind: ReceiverKind, body: string): Record<string, unknown>[] {
  if (kind === 'splunk')
    return body
      .split('\n')
      .filter(Boolean)
      .map((l) => (JSON.parse(l) as { event: Record<string, unknown> }).event);
  if (kind === 'datadog') return JSON.parse(body) as Record<string, unknown>[];
  return (JSON.parse(body) as { events: Record<string, unknown>[] }).events;
}

export async function startReceiver(kind: ReceiverKind): Promise<Receiver> {
  let server: Server | undefined;
  const sockets = new Set<Socket>();
  const r: Receiver = {
    kind,
    port: 0,
    url: '',
    events: [],
    requests: [],
    async up() {
      server = createServer((req, res) => void handle(req, res));
      server.on('connection', (s) => {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
      });
      await new Promise<void>((resolve, reject) => {
        server!.once('error', reject);
        server!.listen(r.port, '127.0.0.1', () => resolve());
      });
      r.port = (server.address() as AddressInfo).port;
      r.url = `http://127.0.0.1:${r.port}`;
    },
    async down() {
      const s = server;
      server = undefined;
      if (!s) return;
      for (const sock of sockets) sock.destroy();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    },
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const path = req.url ?? '';
    const reply = (status: number, json: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(json));
    };
    if (r.failWith && (r.failWith.times === undefined || r.failWith.times > 0)) {
      if (r.failWith.times !== undefined) r.failWith.times--;
      return reply(
        r.failWith.status,
        { text: 'unavailable', code: 9 },
        r.failWith.retryAfter ? { 'retry-after': r.failWith.retryAfter } : {},
      );
    }
    if (kind === 'splunk') {
      if (path !== '/services/collector/event') return reply(404, { text: 'not found', code: 404 });
      if (req.headers.authorization !== `Splunk ${TOKEN}`)
        return reply(401, { text: 'Invalid token', code: 4 });
    } else if (kind === 'datadog') {
      if (path !== '/api/v2/logs') return reply(404, { errors: ['not found'] });
      if (req.headers['dd-api-key'] !== DD_KEY) return reply(403, { errors: ['Forbidden'] });
    } else {
      const ok = verifyWebhook(
        WEBHOOK_SECRET,
        {
          signature: req.headers[SIGNATURE_HEADER] as string | undefined,
          timestamp: req.headers[TIMESTAMP_HEADER] as string | undefined,
        },
        body,
      );
      if (!ok) return reply(401, { error: 'bad signature' });
    }
    let events: Record<string, unknown>[];
    try {
      events = parse(kind, body);
    } catch {
      return reply(400, { text: 'Invalid data format', code: 6 });
    }
    if (r.rejectId && events.some((e) => e.id === r.rejectId))
      return reply(400, { text: 'Invalid data format', code: 6 });
    r.requests.push({ headers: req.headers, path });
    for (const e of events) r.events.push({ id: String(e.id), body: e });
    if (kind === 'splunk') return reply(200, { text: 'Success', code: 0 });
    if (kind === 'datadog') return reply(202, {});
    return reply(200, { ok: true });
  }

  await r.up();
  return r;
}
