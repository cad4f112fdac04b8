// Reading user files at the boundary: size cap before reading, one-line errors, no stack traces.
import { readFile, stat } from 'node:fs/promises';

import { InputError } from './errors.js';
import { jsonErrorOffset } from './json-error.js';

const mb = (n: number): string => `${(n / (1024 * 1024)).toFixed(n >= 1024 * 1024 ? 0 : 2)} MB`;

export async function readTextFile(path: string, maxBytes: number): Promise<string> {
  let size: number;
  try {
    const s = await stat(path);
    if (s.isDirectory()) throw new InputError(`${path}: is a directory, expected a file`);
    size = s.size;
  } catch (e) {
    if (e instanceof InputError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(
      `${path}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : 'cannot read file'}`,
    );
  }
  if (size > maxBytes) {
    throw new InputError(
      `${path}: file is ${mb(size)}, larger than the ${mb(maxBytes)} limit (WAFGEN_MAX_INPUT_BYTES)`,
    );
  }
  const text = await readFile(path, 'utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** Parse JSON with a message that says where it broke. */
export function parseJson(text: string, source: string): unknown {
  if (text.trim() === '') throw new InputError(`${source}: file is empty, expected JSON`);
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
  return parseJson(await readTextFile(path, maxBytes), path);
}
