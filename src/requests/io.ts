// File access shared by the parsers: one clear, one-line error for a file that cannot be read, the
// `input-bytes` limit enforced while reading (a regular file over it is refused from its size; a
// device, FIFO or stdin is cut at the limit + 1 byte), and offset → line-number mapping for errors.

import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { errorMessage } from '../core/errors.js';
import { checkByteCount, InputLimitError, limitOf } from '../core/limits.js';
import { readLimited } from '../core/read-limited.js';

/** How much of a request file may be read. */
export interface ReadOptions {
  /** The `input-bytes` limit in force (default: the limit's default, 10 MiB). */
  maxBytes?: number;
}

/** A requests file that cannot be read at all (missing, a directory, no permission). The CLI maps it to exit 2. */
export class RequestFileError extends Error {
  readonly file: string;
  constructor(file: string, reason: string) {
    super(`cannot read requests file ${file}: ${reason}`);
    this.name = 'RequestFileError';
    this.file = file;
  }
}

function reason(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  switch (code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'it is a directory';
    default:
      return errorMessage(err);
  }
}

/** Fail early, with a `RequestFileError`, if `file` is not a readable regular file. */
export async function assertReadableFile(file: string): Promise<{ isFile(): boolean; size: number }> {
  let info;
  try {
    info = await stat(file);
  } catch (err) {
    throw new RequestFileError(file, reason(err));
  }
  if (info.isDirectory()) throw new RequestFileError(file, 'it is a directory');
  return info;
}

/** The whole file, held to the `input-bytes` limit (an InputLimitError over it). */
async function readWhole(file: string, maxBytes = limitOf('input-bytes')): Promise<Buffer> {
  try {
    const info = await stat(file);
    if (info.isDirectory()) throw new RequestFileError(file, 'it is a directory');
    if (info.isFile()) checkByteCount(info.size, { max: maxBytes, source: file });
    return await readLimited(createReadStream(file), { max: maxBytes, source: file });
  } catch (err) {
    if (err instanceof InputLimitError || err instanceof RequestFileError) throw err;
    throw new RequestFileError(file, reason(err));
  }
}

/** The whole file as a byte string (latin1: one char per byte). */
export async function readFileBytes(file: string, maxBytes?: number): Promise<string> {
  return (await readWhole(file, maxBytes)).toString('latin1');
}

/** The whole file as UTF-8 text, without a leading byte-order mark. */
export async function readFileText(file: string, maxBytes?: number): Promise<string> {
  return stripBom((await readWhole(file, maxBytes)).toString('utf8'));
}

/** Wrap a stream error raised while reading `file` (an InputLimitError is passed through). */
export function fileError(file: string, err: unknown): RequestFileError | InputLimitError {
  return err instanceof RequestFileError || err instanceof InputLimitError
    ? err
    : new RequestFileError(file, reason(err));
}

export function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** Maps character offsets in `text` to 1-based line numbers. */
export class LineIndex {
  private readonly starts: number[] = [0];
  constructor(text: string) {
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) this.starts.push(i + 1);
  }
  lineAt(offset: number): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  }
}
