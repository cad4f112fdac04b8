// The spool on its own: order, acknowledgement, resuming after a restart, segment rotation, a torn
// last write, and one owner per folder.
import { appendFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { Spool, SpoolBusyError } from '../../src/audit/index.js';
import { tempDir } from './support.js';

const lines = (n: number, from = 0) => Array.from({ length: n }, (_, i) => JSON.stringify({ n: from + i }));
const segments = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.jsonl'));

async function drain(spool: Spool, max = 7): Promise<string[]> {
  const out: string[] = [];
  for (;;) {
    const b = await spool.peek(max);
    if (b.lines.length === 0) return out;
    out.push(...b.lines);
    await spool.ack(b.ends.at(-1)!, b.lines.length);
  }
}

describe('Spool', () => {
  it('hands lines out in order until acknowledged, and resumes at the acknowledgement after a reopen', async () => {
    const dir = tempDir();
    const s = await Spool.open(dir, { fsync: false });
    await s.append(lines(10));
    expect(s.pending).toBe(10);
    const b = await s.peek(4);
    expect(b.lines).toEqual(lines(4));
    // Not acknowledged: the same lines again.
    expect((await s.peek(4)).lines).toEqual(lines(4));
    await s.ack(b.ends[2]!, 3);
    expect(s.pending).toBe(7);
    await s.close();

    const again = await Spool.open(dir, { fsync: false });
    expect(again.pending).toBe(7);
    expect(await drain(again)).toEqual(lines(7, 3));
    expect(again.pending).toBe(0);
    await again.close();
    // Delivered to the end: no segment is left behind.
    expect(segments(dir)).toEqual([]);
    const third = await Spool.open(dir, { fsync: false });
    expect(third.pending).toBe(0);
    await third.append(lines(1, 100));
    expect(await drain(third)).toEqual(lines(1, 100));
    await third.close();
  });

  it('rotates segments by size and deletes each once it is delivered', async () => {
    const dir = tempDir();
    const s = await Spool.open(dir, { fsync: false, maxSegmentBytes: 64 });
    for (let i = 0; i < 10; i++) await s.append(lines(3, i * 3));
    expect(segments(dir).length).toBeGreaterThan(3);
    const b = await s.peek(100);
    // A batch never spans segments; the rest follows.
    expect(b.lines.length).toBeLessThan(30);
    expect(await drain(s, 100)).toEqual(lines(30));
    expect(segments(dir)).toHaveLength(1);
    await s.close();
  });

  it('caps a batch by bytes (but always returns at least one line)', async () => {
    const s = await Spool.open(tempDir(), { fsync: false });
    const big = JSON.stringify({ pad: 'x'.repeat(1000) });
    await s.append([big, big, big]);
    expect((await s.peek(10, 1500)).lines).toHaveLength(1);
    expect((await s.peek(10, 100)).lines).toHaveLength(1);
    expect((await s.peek(10, 10_000)).lines).toHaveLength(3);
    await s.close();
  });

  it('cuts a torn last line (a write the process did not finish) at the next open', async () => {
    const dir = tempDir();
    const s = await Spool.open(dir, { fsync: false });
    await s.append(lines(2));
    await s.close({});
    const [seg] = segments(dir);
    appendFileSync(join(dir, seg!), '{"n":2, "half');
    writeFileSync(join(dir, 'lock'), '999999999\n'); // and a lock left by a dead process
    const again = await Spool.open(dir, { fsync: false });
    expect(again.pending).toBe(2);
    await again.append(lines(1, 3));
    expect(await drain(again)).toEqual([...lines(2), ...lines(1, 3)]);
    await again.close();
  });

  it('has one owner: a second opener gets SpoolBusyError until the first closes', async () => {
    const dir = tempDir();
    const s = await Spool.open(dir, { fsync: false });
    await expect(Spool.open(dir)).rejects.toBeInstanceOf(SpoolBusyError);
    await s.close();
    const t = await Spool.open(dir);
    await t.close();
  });

  it('writes appends made while a write is under way together, with one fsync, in order', async () => {
    const dir = tempDir();
    const s = await Spool.open(dir, { fsync: true });
    await s.append(lines(1));
    expect(s.syncs).toBe(1);
    // Ten emitters at once (a worker's jobs): one group, one write, one fsync, each append resolved.
    const appends = Array.from({ length: 10 }, (_, i) => s.append(lines(2, 1 + 2 * i)));
    await Promise.all(appends);
    expect(s.syncs).toBe(2);
    expect(s.pending).toBe(21);
    // A bad line is refused on its own and does not join (or spoil) the group under way.
    const good = s.append(lines(1, 21));
    expect(() => s.append(['a\nb'])).toThrow(/newline/);
    await good;
    expect(await drain(s)).toEqual(lines(22));
    await s.close();
    // Durable: a reopen reads exactly what was acknowledged as written.
    const again = await Spool.open(dir, { fsync: false });
    await again.append(lines(1, 22));
    expect(await drain(again)).toEqual(lines(1, 22));
    await again.close();
  });

  it('fails every append of a group written after close', async () => {
    const s = await Spool.open(tempDir(), { fsync: false });
    await s.close();
    const results = await Promise.allSettled([s.append(lines(1)), s.append(lines(1, 1))]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });

  it('refuses a line with a newline in it', async () => {
    const s = await Spool.open(tempDir(), { fsync: false });
    expect(() => s.append(['a\nb'])).toThrow(/newline/);
    await s.close();
  });
});
