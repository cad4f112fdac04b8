/**
 * @module Reading user files at the boundary: the `input-bytes` limit enforced while reading (a
 * regular file over it is refused from its size, anything else — stdin, a FIFO, `/dev/zero` — is cut
 * at the limit + 1 byte), `-` for stdin, JSON depth checked before parsing, one-line errors.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';

import { InputError } from './errors.js';
import { jsonErrorOffset } from './json-error.js';
import { checkByteCount, checkJsonTextDepth } from './limits.js';
import { readLimited } from './read-limited.js';

/** The name `-` stands for standard input, as in most command-line tools. */
const STDIN = '-';

const sourceName = (path: string): string => (path === STDIN ? 'stdin' : path);

/** A file's raw bytes, held to the `input-bytes` limit (`maxBytes` is the configured value). */
async function readBytesFile(path: string, maxBytes: number): Promise<Buffer> {
  const source = sourceName(path);
  if (path === STDIN) return readLimited(process.stdin, { max: maxBytes, source });
  try {
    const s = await stat(path);
    if (s.isDirectory()) throw new InputError(`${path}: is a directory, expected a file`);
    // A regular file's size is known: refuse it before reading. Devices, FIFOs and /proc files
    // report 0 or nothing, so the stream below is cut at the limit whatever stat said.
    if (s.isFile()) checkByteCount(s.size, { max: maxBytes, source });
    return await readLimited(createReadStream(path), { max: maxBytes, source });
  } catch (e) {
    if (e instanceof InputError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(
      `${path}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory, expected a file' : 'cannot read file'}`,
    );
  }
}

/** A file (or stdin, `-`) as UTF-8 text without a byte-order mark, held to the `input-bytes` limit. */
export async function readTextFile(path: string, maxBytes: number): Promise<string> {
  const text = (await readBytesFile(path, maxBytes)).toString('utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/**
 * Parse JSON with a message that says where it broke. Nesting beyond the `json-depth` limit is
 * refused before parsing (an InputLimitError), so no consumer of the value can overflow the stack.
 */
export function parseJson(text: string, source: string): unknown {
  if (text.trim() === '') throw new InputError(`${source}: file is empty, expected JSON`);
  checkJsonTextDepth(text, source);
  try {
    return JSON.parse(text);
  } catch (e) {
    const detail = e instanceof Error ? e.message : String(e);
    const offset = jsonErrorOffset(text);
    if (offset < 0) throw new InputError(`${source}: invalid JSON: ${detail}`);
    const before = text.slice(0, offset);
    const line = before.split('\n').length;
    const column = offset - before.lastIndexOf('\n');
    const found = offset >= text.length ? 'end of file' : JSON.stringify(text.slice(offset, offset + 12));
    throw new InputError(`${source}: invalid JSON at line ${line}, column ${column}: unexpected ${found}`);
  }
}

export async function readJsonFile(path: string, maxBytes: number): Promise<unknown> {
  return parseJson(await readTextFile(path, maxBytes), sourceName(path));
}
