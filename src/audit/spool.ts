// A durable, ordered queue of audit events on disk: the write-ahead log between `emit` and a sink.
//
// Layout of a spool folder:
//   0000000001.jsonl, 0000000002.jsonl ...  append-only segments, one JSON event per line
//   ack.log                                 append-only "<segment> <byte offset>" lines: every event
//                                           before that point has been delivered
//   lock                                    the owning process id (one process per folder)
//
// Events are appended (and fsynced) before `emit` returns, delivered from the acknowledged position
// in order, and acknowledged right after the sink accepts them; a delivered segment is deleted. A
// process that dies leaves its segments and ack.log behind, and the next owner of the folder resumes
// at the last acknowledgement: nothing is lost, and nothing acknowledged is sent again.
import { closeSync, fdatasyncSync, openSync, writeSync } from 'node:fs';
import {
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  truncate,
  writeFile,
  type FileHandle,
} from 'node:fs/promises';
import { join } from 'node:path';

import { processAlive } from '../core/process.js';

export interface SpoolPosition {
  segment: number;
  offset: number;
}

export interface SpoolBatch {
  lines: string[];
  /** Position just after each line: ack(ends[i], i + 1) acknowledges lines[0..i]. */
  ends: SpoolPosition[];
}

export interface SpoolOptions {
  /** fsync segments and ack.log after every write (default true). */
  fsync?: boolean;
  /** A segment is closed and a new one started beyond this size (default 8 MiB). */
  maxSegmentBytes?: number;
}

export class SpoolBusyError extends Error {
  constructor(
    readonly dir: string,
    readonly pid: number,
  ) {
    super(`the audit spool ${dir} is in use by process ${pid}`);
    this.name = 'SpoolBusyError';
  }
}

const SEGMENT = /^(\d{10})\.jsonl$/;
const ACK_LINE = /^(\d+) (\d+)$/;
const ACK_LOG_COMPACT_BYTES = 256 * 1024;
const READ_CHUNK = 256 * 1024;
const MAX_LINE_BYTES = 16 * 1024 * 1024;

const segmentName = (n: number) => `${String(n).padStart(10, '0')}.jsonl`;

/** Folders this process has locked (a pid file naming us is stale unless it is in here). */
const heldLocks = new Set<string>();

async function lock(dir: string): Promise<void> {
  const file = join(dir, 'lock');
  // Not a back-off loop: one immediate retry after removing a dead process's lock; no policy needed.
  for (let attempt = 0; ; attempt++) {
    try {
      await writeFile(file, `${process.pid}\n`, { flag: 'wx' });
      heldLocks.add(dir);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const pid = Number.parseInt(await readFile(file, 'utf8').catch(() => ''), 10);
      const mine = pid === process.pid && heldLocks.has(dir);
      const live = Number.isInteger(pid) && pid > 0 && pid !== process.pid && processAlive(pid);
      if (mine || live || attempt > 0) throw new SpoolBusyError(dir, Number.isInteger(pid) ? pid : 0);
      await rm(file, { force: true }); // left by a process that died (or a previous life of this pid)
    }
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** Newline bytes in a file from `from` on. */
async function countLines(path: string, from: number): Promise<number> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(READ_CHUNK);
    let n = 0;
    for (let pos = from; ;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) return n;
      for (let i = 0; i < bytesRead; i++) if (buf[i] === 0x0a) n++;
      pos += bytesRead;
    }
  } finally {
    await fh.close();
  }
}

/** Cuts a torn last line (a write the process did not finish) so the next append starts clean. */
async function repairTail(path: string): Promise<void> {
  const { size } = await stat(path);
  if (size === 0) return;
  const fh = await open(path, 'r');
  let keep = 0;
  try {
    const buf = Buffer.allocUnsafe(Math.min(READ_CHUNK, size));
    let end = size;
    const last = Buffer.allocUnsafe(1);
    await fh.read(last, 0, 1, size - 1);
    if (last[0] === 0x0a) return;
    while (end > 0) {
      const start = Math.max(0, end - buf.length);
      const { bytesRead } = await fh.read(buf, 0, end - start, start);
      const i = buf.subarray(0, bytesRead).lastIndexOf(0x0a);
      if (i >= 0) {
        keep = start + i + 1;
        break;
      }
      end = start;
    }
  } finally {
    await fh.close();
  }
  await truncate(path, keep);
}

export class Spool {
  #ack: SpoolPosition;
  #writeSegment: number;
  #writeSize = 0;
  #writer: FileHandle | undefined;
  #pending: number;
  #closed = false;
  /** The group of appends waiting for their turn to be written, which new appends join. */
  #open: { lines: string[]; done: Promise<void> } | undefined;
  #syncs = 0;
  /** Serialises appends, acknowledgements and segment changes. */
  #chain: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly dir: string,
    private readonly options: Required<SpoolOptions>,
    ack: SpoolPosition,
    writeSegment: number,
    pending: number,
  ) {
    this.#ack = ack;
    this.#writeSegment = writeSegment;
    this.#pending = pending;
  }

  /** Opens (creating if needed) and locks a spool folder; throws SpoolBusyError if another process has it. */
  static async open(dir: string, options: SpoolOptions = {}): Promise<Spool> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await lock(dir);
    try {
      const opts = {
        fsync: options.fsync ?? true,
        maxSegmentBytes: options.maxSegmentBytes ?? 8 * 1024 * 1024,
      };
      const segments = (await readdir(dir))
        .map((f) => SEGMENT.exec(f)?.[1])
        .filter((s): s is string => s !== undefined)
        .map(Number)
        .sort((a, b) => a - b);
      const ackText = await readFile(join(dir, 'ack.log'), 'utf8').catch(() => '');
      let recorded: SpoolPosition | undefined;
      for (const line of ackText.split('\n')) {
        const m = ACK_LINE.exec(line);
        if (m) recorded = { segment: Number(m[1]), offset: Number(m[2]) };
      }
      let ack: SpoolPosition = recorded ?? { segment: segments[0] ?? 1, offset: 0 };
      const acked = ack.segment;
      // Segments wholly before the acknowledgement were delivered; their deletion was interrupted.
      for (const s of segments.filter((s) => s < acked)) await rm(join(dir, segmentName(s)), { force: true });
      const live = segments.filter((s) => s >= acked);
      if (live.length === 0) {
        // Nothing on disk to deliver: start a fresh segment numbered after everything before.
        ack = { segment: Math.max(ack.segment, ...segments) + 1, offset: 0 };
      } else if (live[0]! > ack.segment) {
        ack = { segment: live[0]!, offset: 0 };
      }
      const writeSegment = live.at(-1) ?? ack.segment;
      if (live.length > 0) await repairTail(join(dir, segmentName(writeSegment)));
      let pending = 0;
      for (const s of live)
        pending += await countLines(join(dir, segmentName(s)), s === ack.segment ? ack.offset : 0);
      const spool = new Spool(dir, opts, ack, writeSegment, pending);
      await spool.#openWriter();
      return spool;
    } catch (error) {
      await rm(join(dir, 'lock'), { force: true });
      heldLocks.delete(dir);
      throw error;
    }
  }

  /** Events appended and not yet acknowledged. */
  get pending(): number {
    return this.#pending;
  }

  #serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#chain.then(task, task);
    this.#chain = run.catch(() => {});
    return run;
  }

  async #openWriter(): Promise<void> {
    const path = join(this.dir, segmentName(this.#writeSegment));
    this.#writer = await open(path, 'a', 0o600);
    this.#writeSize = (await this.#writer.stat()).size;
  }

  /**
   * Appends lines (each one JSON document, no newline inside) durably, in order.
   *
   * Group commit: appends made while an earlier write or fsync is under way wait together and go to
   * disk in one write and one fsync; each resolves once its lines are durable, and a failed write
   * fails every append in it. Why: a worker running 8 jobs at once appended and fsynced each event
   * on its own, one after the other (test/audit/spool.test.ts counts the syncs).
   */
  append(lines: readonly string[]): Promise<void> {
    if (lines.length === 0) return Promise.resolve();
    for (const l of lines)
      if (l.includes('\n')) throw new TypeError('a spool line may not contain a newline');
    const open = this.#open;
    if (open) {
      for (const l of lines) open.lines.push(l);
      return open.done;
    }
    const group: { lines: string[]; done: Promise<void> } = { lines: [...lines], done: Promise.resolve() };
    this.#open = group;
    group.done = this.#serial(async () => {
      // From here on, later appends start the next group (behind this one in the chain).
      if (this.#open === group) this.#open = undefined;
      if (this.#closed) throw new Error(`the audit spool ${this.dir} is closed`);
      const data = Buffer.from(group.lines.join('\n') + '\n', 'utf8');
      if (this.#writeSize > 0 && this.#writeSize + data.length > this.options.maxSegmentBytes) {
        await this.#writer?.close();
        this.#writeSegment++;
        await this.#openWriter();
      }
      const w = this.#writer!;
      for (let off = 0; off < data.length;) {
        const { bytesWritten } = await w.write(data, off, data.length - off);
        off += bytesWritten;
      }
      if (this.options.fsync) {
        await w.datasync();
        this.#syncs++;
      }
      this.#writeSize += data.length;
      this.#pending += group.lines.length;
    });
    return group.done;
  }

  /** Segment fsyncs so far (each covers one group of appends). */
  get syncs(): number {
    return this.#syncs;
  }

  /** Up to `maxEvents` lines (and about `maxBytes`) from the acknowledged position, without consuming them. */
  peek(maxEvents: number, maxBytes = 4 * 1024 * 1024): Promise<SpoolBatch> {
    return this.#serial(async () => {
      const batch: SpoolBatch = { lines: [], ends: [] };
      for (;;) {
        const { segment, offset } = this.#ack;
        const path = join(this.dir, segmentName(segment));
        const fh = await open(path, 'r');
        let size: number;
        try {
          size = (await fh.stat()).size;
          let pos = offset;
          let bytes = 0;
          let full = false;
          let chunk = Math.min(READ_CHUNK, Math.max(maxBytes, 4096));
          while (!full && pos < size && batch.lines.length < maxEvents) {
            const buf = Buffer.allocUnsafe(Math.min(chunk, size - pos));
            const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
            let start = 0;
            for (let i = 0; i < bytesRead; i++) {
              if (buf[i] !== 0x0a) continue;
              const len = i - start;
              if (batch.lines.length > 0 && bytes + len + 1 > maxBytes) {
                full = true;
                break;
              }
              batch.lines.push(buf.toString('utf8', start, i));
              bytes += len + 1;
              batch.ends.push({ segment, offset: pos + i + 1 });
              start = i + 1;
              if (batch.lines.length >= maxEvents) {
                full = true;
                break;
              }
            }
            if (start === 0 && !full) {
              // No whole line in the chunk: a line longer than the chunk (read more at once), or
              // a torn tail (never completed; repairTail cuts it at the next open).
              if (pos + bytesRead >= size || chunk >= MAX_LINE_BYTES) break;
              chunk *= 2;
              continue;
            }
            pos += start;
          }
          if (batch.lines.length > 0) return batch;
        } finally {
          await fh.close();
        }
        // This segment is delivered to its end: move on if a later one exists.
        if (segment >= this.#writeSegment || offset < size) return batch;
        await this.#moveTo({ segment: segment + 1, offset: 0 });
      }
    });
  }

  async #writeAck(pos: SpoolPosition): Promise<void> {
    const path = join(this.dir, 'ack.log');
    const line = `${pos.segment} ${pos.offset}\n`;
    const size = await stat(path).then(
      (s) => s.size,
      () => 0,
    );
    if (size > ACK_LOG_COMPACT_BYTES) {
      const tmp = `${path}.tmp`;
      await writeFile(tmp, line, { mode: 0o600 });
      await rename(tmp, path);
      return;
    }
    // Synchronous and small: an acknowledgement is written before anything else can happen.
    const fd = openSync(path, 'a', 0o600);
    try {
      writeSync(fd, line);
      if (this.options.fsync) fdatasyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  async #moveTo(pos: SpoolPosition): Promise<void> {
    const previous = this.#ack.segment;
    await this.#writeAck(pos);
    this.#ack = pos;
    if (pos.segment > previous) await rm(join(this.dir, segmentName(previous)), { force: true });
  }

  /** Everything up to `pos` has been delivered: `count` events. */
  ack(pos: SpoolPosition, count: number): Promise<void> {
    return this.#serial(async () => {
      if (
        pos.segment < this.#ack.segment ||
        (pos.segment === this.#ack.segment && pos.offset <= this.#ack.offset)
      )
        return;
      await this.#moveTo(pos);
      this.#pending = Math.max(0, this.#pending - count);
    });
  }

  /** Releases the folder. With `remove`, deletes it too (an adopted spool that has been drained). */
  close(opts: { remove?: boolean } = {}): Promise<void> {
    return this.#serial(async () => {
      if (this.#closed) return;
      this.#closed = true;
      await this.#writer?.close();
      if (opts.remove && this.#pending === 0) {
        await rm(this.dir, { recursive: true, force: true });
      } else {
        if (
          this.#pending === 0 &&
          this.#ack.segment === this.#writeSegment &&
          this.#writeSize === this.#ack.offset
        ) {
          // Delivered to the end: leave no segment behind, only the acknowledgement.
          await this.#writeAck({ segment: this.#writeSegment + 1, offset: 0 });
          await rm(join(this.dir, segmentName(this.#writeSegment)), { force: true });
        }
        await rm(join(this.dir, 'lock'), { force: true });
      }
      heldLocks.delete(this.dir);
    });
  }

  /** True if the folder exists and holds segments. */
  static async hasSegments(dir: string): Promise<boolean> {
    if (!(await exists(dir))) return false;
    return (await readdir(dir)).some((f) => SEGMENT.test(f));
  }
}
