// Delivery to real HTTP receivers on 127.0.0.1: the wire format of each SIEM, and the guarantee
// that matters: with the receiver down, events are spooled; when it comes back every event arrives
// exactly once and in order, also when the emitting process was killed in between.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { Spool, openAuditLog, type AuditLog } from '../../src/audit/index.js';
import { REPO_ROOT } from '../support/shared.js';
import { DD_KEY, TOKEN, startReceiver, type Receiver, type ReceiverKind } from './receivers.js';
import { configFor, counts, envFor, sampleEvent, tempDir } from './support.js';

const open: AuditLog[] = [];
const receivers: Receiver[] = [];
afterEach(async () => {
  for (const l of open.splice(0)) await l.close(0);
  for (const r of receivers.splice(0)) await r.down();
});

async function receiver(kind: ReceiverKind): Promise<Receiver> {
  const r = await startReceiver(kind);
  receivers.push(r);
  return r;
}

async function auditLog(r: Receiver, dataDir: string, extra: NodeJS.ProcessEnv = {}): Promise<AuditLog> {
  const log = await openAuditLog(configFor(r, dataDir, extra));
  open.push(log);
  return log;
}

const KINDS: ReceiverKind[] = ['splunk', 'datadog', 'webhook'];

describe.each(KINDS)('%s sink', (kind) => {
  it('delivers batches in order with the receiver’s authentication', async () => {
    const r = await receiver(kind);
    const log = await auditLog(r, tempDir());
    const sent = Array.from({ length: 23 }, (_, i) => sampleEvent(i));
    for (const e of sent) await log.emit(e);
    expect(await log.flush(5000)).toBe(true);
    expect(r.events.map((e) => e.id)).toEqual(sent.map((e) => e.id));
    // Batch size 10: at least three requests, none larger than 10 events.
    expect(r.requests.length).toBeGreaterThanOrEqual(3);
    const first = r.events[0]!.body;
    expect(first).toMatchObject({
      schema: 'wafgen.audit/v1',
      type: 'generation',
      cveId: 'CVE-2024-1000',
      requestId: 'req-0',
      principal: 'apikey:ci',
      generated: true,
      passed: true,
      ruleName: 'wafgen-CVE-2024-1000',
      ruleVersion: 1,
      attempts: 2,
      engine: 'llm',
      provider: 'openai',
      model: 'gpt-5-mini',
      tokens: { input: 1800, output: 420 },
      costUsd: 0.00129,
    });
    const h = r.requests[0]!.headers;
    expect(h['x-wafgen-batch-id']).toMatch(/^[0-9a-f]{32}$/);
    if (kind === 'splunk') {
      expect(r.requests[0]!.path).toBe('/services/collector/event');
      expect(h.authorization).toBe(`Splunk ${TOKEN}`);
    } else if (kind === 'datadog') {
      expect(r.requests[0]!.path).toBe('/api/v2/logs');
      expect(h['dd-api-key']).toBe(DD_KEY);
      expect(first).toMatchObject({ ddsource: 'wafgen', service: 'wafgen', status: 'info' });
      expect(first.message).toMatch(/CVE-2024-1000: rule generated/);
    } else {
      expect(r.requests[0]!.path).toBe('/hooks/audit');
      expect(h['idempotency-key']).toBe(h['x-wafgen-batch-id']);
      expect(h['x-wafgen-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
    }
  });

  it('spools while the receiver is down and delivers every event exactly once when it is back', async () => {
    const r = await receiver(kind);
    await r.down();
    const dataDir = tempDir();
    const log = await auditLog(r, dataDir);
    const sent = Array.from({ length: 35 }, (_, i) => sampleEvent(i));
    for (const e of sent) await log.emit(e);
    expect(await log.flush(300)).toBe(false);
    const [status] = log.status();
    expect(status).toMatchObject({ sink: kind, pending: 35 });
    expect(status!.consecutiveFailures).toBeGreaterThan(0);
    expect(status!.lastError).toMatch(new RegExp(`^${kind}: `));
    expect(readdirSync(join(dataDir, 'audit', 'spool', kind)).some((f) => f.endsWith('.jsonl'))).toBe(true);

    await r.up();
    expect(await log.flush(5000)).toBe(true);
    expect(r.events.map((e) => e.id)).toEqual(sent.map((e) => e.id));
    expect([...counts(r.events.map((e) => e.id)).values()].every((n) => n === 1)).toBe(true);
  });

  it('delivers what a closed process left in the spool at the next start, once', async () => {
    const r = await receiver(kind);
    await r.down();
    const dataDir = tempDir();
    const first = await auditLog(r, dataDir);
    const sent = Array.from({ length: 12 }, (_, i) => sampleEvent(i));
    for (const e of sent) await first.emit(e);
    await first.close(100);
    expect(r.events).toHaveLength(0);

    await r.up();
    const second = await auditLog(r, dataDir);
    expect(await second.flush(5000)).toBe(true);
    await second.close();
    const third = await auditLog(r, dataDir);
    const late = sampleEvent(99);
    await third.emit(late);
    expect(await third.flush(5000)).toBe(true);
    expect(r.events.map((e) => e.id)).toEqual([...sent, late].map((e) => e.id));
  });
});

describe('across a killed process', () => {
  it('events spooled by a process killed with SIGKILL arrive exactly once after the restart', async () => {
    const r = await receiver('webhook');
    await r.down();
    const dataDir = tempDir();
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        resolve(REPO_ROOT, 'test/audit/emit-child.ts'),
        dataDir,
        JSON.stringify(envFor(r)),
        '40',
      ],
      { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const ids: string[] = [];
    await new Promise<void>((resolveDone, reject) => {
      let buf = '';
      child.stdout.on('data', (d: Buffer) => {
        buf += d.toString();
        const lines = buf.split('\n');
        buf = lines.pop()!;
        for (const l of lines) {
          if (l === 'done') return resolveDone();
          ids.push(l);
        }
      });
      child.on('exit', (code) => reject(new Error(`child exited early (${code})`)));
    });
    child.kill('SIGKILL');
    await new Promise((res) => child.once('exit', res));
    expect(ids).toHaveLength(40);
    // The lock names a dead process: the next start takes the folder over.
    expect(existsSync(join(dataDir, 'audit', 'spool', 'webhook', 'lock'))).toBe(true);

    await r.up();
    const log = await auditLog(r, dataDir);
    expect(await log.flush(5000)).toBe(true);
    expect(r.events.map((e) => e.id)).toEqual(ids);
    await log.close();
    // And a further restart sends nothing again.
    const again = await auditLog(r, dataDir);
    expect(await again.flush(1000)).toBe(true);
    expect(r.events).toHaveLength(40);
  }, 60_000);
});

describe('retries and refusals', () => {
  it('honours 503 with Retry-After, then delivers once', async () => {
    const r = await receiver('splunk');
    r.failWith = { status: 503, retryAfter: '0', times: 3 };
    const log = await auditLog(r, tempDir());
    const sent = [sampleEvent(1), sampleEvent(2)];
    for (const e of sent) await log.emit(e);
    expect(await log.flush(5000)).toBe(true);
    expect(r.events.map((e) => e.id)).toEqual(sent.map((e) => e.id));
  });

  it('keeps events while the key is refused (401) and delivers once it is accepted', async () => {
    const r = await receiver('datadog');
    r.failWith = { status: 403 };
    const log = await auditLog(r, tempDir());
    await log.emit(sampleEvent(1));
    expect(await log.flush(200)).toBe(false);
    expect(log.status()[0]!.lastError).toMatch(/^datadog: HTTP 403/);
    r.failWith = undefined;
    expect(await log.flush(5000)).toBe(true);
    expect(r.events).toHaveLength(1);
  });

  it('sets aside (dead-letters) only the event the receiver refuses for good', async () => {
    const r = await receiver('webhook');
    const dataDir = tempDir();
    const sent = Array.from({ length: 5 }, (_, i) => sampleEvent(i));
    r.rejectId = sent[2]!.id;
    const log = await auditLog(r, dataDir);
    for (const e of sent) await log.emit(e);
    expect(await log.flush(5000)).toBe(true);
    expect(r.events.map((e) => e.id)).toEqual(sent.filter((_, i) => i !== 2).map((e) => e.id));
    const dead = readFileSync(join(dataDir, 'audit', 'spool', 'webhook.dead.jsonl'), 'utf8')
      .trim()
      .split('\n');
    expect(dead).toHaveLength(1);
    const entry = JSON.parse(dead[0]!) as { reason: string; line: string };
    expect(entry.reason).toMatch(/HTTP 400/);
    expect(JSON.parse(entry.line).id).toBe(sent[2]!.id);
  });

  it('delivers spooled events written by another wafgen version; dead-letters an unreadable line', async () => {
    const r = await receiver('datadog');
    const dataDir = tempDir();
    const spool = await Spool.open(join(dataDir, 'audit', 'spool', 'datadog'));
    const a = sampleEvent(1);
    const b = sampleEvent(2);
    await spool.append([JSON.stringify({ ...a, addedInV2: true }), '{"not":"an event"}', JSON.stringify(b)]);
    await spool.close();
    const log = await auditLog(r, dataDir);
    expect(await log.flush(5000)).toBe(true);
    expect(r.events.map((e) => e.id)).toEqual([a.id, b.id]);
    expect(r.events[0]!.body.addedInV2).toBe(true);
    const dead = readFileSync(join(dataDir, 'audit', 'spool', 'datadog.dead.jsonl'), 'utf8')
      .trim()
      .split('\n');
    expect(dead.map((l) => (JSON.parse(l) as { line: string }).line)).toEqual(['{"not":"an event"}']);
  });

  it('two processes on one data folder: the second spools beside the first, and both are drained', async () => {
    const r = await receiver('splunk');
    await r.down();
    const dataDir = tempDir();
    const a = await auditLog(r, dataDir);
    const b = await auditLog(r, dataDir); // same pid, but a second owner: gets splunk@<pid>
    expect(readdirSync(join(dataDir, 'audit', 'spool')).sort()).toEqual(['splunk', `splunk@${process.pid}`]);
    const fromA = [sampleEvent(1), sampleEvent(2), sampleEvent(3)];
    const fromB = [sampleEvent(4), sampleEvent(5)];
    for (const e of fromA) await a.emit(e);
    for (const e of fromB) await b.emit(e);
    await a.close(50);
    await b.close(50);
    await r.up();
    const c = await auditLog(r, dataDir);
    expect(await c.flush(5000)).toBe(true);
    expect(new Set(r.events.map((e) => e.id))).toEqual(new Set([...fromA, ...fromB].map((e) => e.id)));
    expect(r.events).toHaveLength(5);
    // The adopted folder is gone once drained.
    expect(readdirSync(join(dataDir, 'audit', 'spool'))).toEqual(['splunk']);
  });
});
