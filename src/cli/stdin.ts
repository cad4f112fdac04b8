/**
 * @module `-` for standard input where a command hands file names to code that reads files by name
 * (request files, evidence, records, store exports): stdin is read once, held to the `input-bytes`
 * limit, into a private temporary file (mode 0600 in a 0700 folder, removed at exit) whose name
 * stands for it. Error messages name it `stdin` again (main.ts, {@link unmaskStdin}).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { InputError } from '../core/errors.js';
import { readLimited } from '../core/read-limited.js';

let taken: Promise<string> | undefined;
let tempPath: string | undefined;

async function stdinFile(maxBytes: number): Promise<string> {
  if (process.stdin.isTTY)
    throw new InputError(
      '- reads standard input, but it is a terminal; pipe the file in (… | wafgen …) or give its path',
    );
  const bytes = await readLimited(process.stdin, { max: maxBytes, source: 'stdin' });
  const dir = mkdtempSync(join(tmpdir(), 'wafgen-stdin-'));
  tempPath = join(dir, 'stdin');
  writeFileSync(tempPath, bytes, { mode: 0o600 });
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  return tempPath;
}

/** The paths with each `-` replaced by the file holding standard input (read once, whatever the count). */
export async function withStdin(paths: readonly string[], maxBytes: number): Promise<string[]> {
  if (!paths.includes('-')) return [...paths];
  const path = await (taken ??= stdinFile(maxBytes));
  return paths.map((p) => (p === '-' ? path : p));
}

/** A message with the temporary file's name put back as `stdin`. */
export function unmaskStdin(message: string): string {
  return tempPath ? message.split(tempPath).join('stdin') : message;
}
