import { afterAll, describe, expect, it } from 'vitest';

import { collect, fixture, removeTempFiles, tempFile } from '../../test/fixtures/requests/helpers.js';
import { InputLimitError } from '../core/limits.js';
import { REQUEST_FORMATS } from './formats.js';
import { loadRequests, readAllRequests } from './index.js';

afterAll(removeTempFiles);

const testCase = (i: number) => JSON.stringify({ id: `c${i}`, method: 'GET', uri: `/${i}` });

describe('request files are held to the input limits while reading', () => {
  it.each(REQUEST_FORMATS)('%s: /dev/zero stops at input-bytes', async (format) => {
    const err = await collect(loadRequests('/dev/zero', { format, maxBytes: 64 * 1024 })).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(InputLimitError);
    expect((err as Error).message).toMatch(
      /^\/dev\/zero: input exceeds WAFGEN limit input-bytes=65536 \(more than 64\.0 KiB read; set WAFGEN_MAX_INPUT_BYTES/,
    );
  });

  it('detects the format of an endless source and still stops', async () => {
    await expect(readAllRequests('/dev/zero', { maxBytes: 100_000 })).rejects.toThrow(/input-bytes=100000/);
  });

  it('refuses a regular file over the limit from its size, whatever the format', async () => {
    const file = tempFile('big.jsonl', Array.from({ length: 100 }, (_, i) => testCase(i)).join('\n'));
    for (const format of REQUEST_FORMATS) {
      await expect(collect(loadRequests(file, { format, maxBytes: 1024 }))).rejects.toThrow(
        /big\.jsonl: input exceeds WAFGEN limit input-bytes=1024 \(it is /,
      );
    }
    expect((await collect(loadRequests(file, { maxBytes: 1024 * 1024 }))).requests).toHaveLength(100);
  });

  it('stops a file with more entries than request-entries', async () => {
    const file = tempFile('many.jsonl', Array.from({ length: 50 }, (_, i) => testCase(i)).join('\n'));
    await expect(readAllRequests(file, { maxEntries: 49 })).rejects.toThrow(
      /many\.jsonl: input exceeds WAFGEN limit request-entries=49 \(more than 49 entries\)/,
    );
    expect((await readAllRequests(file, { maxEntries: 50 })).requests).toHaveLength(50);
  });

  it('reports a line nested past json-depth as that line, and reads the others', async () => {
    const deep = '{"id":"x","method":"GET","uri":"/","headers":' + '['.repeat(300) + ']'.repeat(300) + '}';
    const file = tempFile('deep.jsonl', [testCase(1), deep, testCase(2)].join('\n'));
    const { requests, errors } = await readAllRequests(file);
    expect(requests.map((r) => r.id)).toEqual(['c1', 'c2']);
    expect(errors).toEqual([
      {
        file,
        line: 2,
        message: 'input exceeds WAFGEN limit json-depth=256 (nesting goes deeper here)',
      },
    ]);
  });

  it('refuses a HAR document nested past json-depth as one error, not a crash', async () => {
    const har = '{"log":{"entries":' + '['.repeat(5_000) + ']'.repeat(5_000) + '}}';
    const { requests, errors } = await readAllRequests(tempFile('deep.har', har));
    expect(requests).toEqual([]);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.message).toMatch(/json-depth=256/);
  });

  it('reads the fixtures as before', async () => {
    const { requests, errors } = await readAllRequests([
      fixture('cases.jsonl'),
      fixture('browser-session.har'),
      fixture('two-requests.http'),
    ]);
    expect(requests.length).toBeGreaterThan(3);
    expect(errors.filter((e) => /WAFGEN limit/.test(e.message))).toEqual([]);
  });
});
