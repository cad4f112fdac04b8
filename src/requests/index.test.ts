import { mkdtempSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { collect, fixture, removeTempFiles, tempFile } from '../../test/fixtures/requests/helpers.js';
import { sharedPath } from '../../test/support/shared.js';
import {
  type HttpRequest,
  detectFormat,
  headerValues,
  loadRequests,
  readAllRequests,
  RequestFileError,
} from './index.js';

afterAll(removeTempFiles);

const testCase = (id: string) => JSON.stringify({ id, method: 'GET', uri: '/', headers: [['Host', 'h']] });

describe('detectFormat', () => {
  it('goes by extension first', async () => {
    expect(await detectFormat(fixture('cases.jsonl'))).toBe('jsonl');
    expect(await detectFormat(fixture('cve-2022-26134.yaml'))).toBe('nuclei');
    expect(await detectFormat(fixture('browser-session.har'))).toBe('har');
  });

  it('sniffs content otherwise', async () => {
    expect(await detectFormat(fixture('two-requests.http'))).toBe('raw');
    expect(await detectFormat(fixture('waf-cloudwatch-export.txt'))).toBe('waf-log');
    expect(await detectFormat(tempFile('cases.txt', `${testCase('a')}\n${testCase('b')}\n`))).toBe('jsonl');
    expect(await detectFormat(tempFile('doc', '[\n  {}\n]'))).toBe('json');
    expect(await detectFormat(tempFile('tpl.txt', 'id: x\ninfo:\n  name: y\nhttp:\n  - path: ["/"]\n'))).toBe(
      'nuclei',
    );
    const har = await readFile(fixture('browser-session.har'), 'utf8');
    expect(await detectFormat(tempFile('session.json', har))).toBe('json');
    expect(await detectFormat(tempFile('min.json', JSON.stringify(JSON.parse(har))))).toBe('har');
  });
});

describe('loadRequests', () => {
  it('loads every fixture format', async () => {
    const counts: Record<string, number> = {};
    for (const name of [
      'cases.jsonl',
      'two-requests.http',
      'cve-2022-26134.yaml',
      'waf-cloudwatch-export.txt',
      'browser-session.har',
    ]) {
      counts[name] = (await collect(loadRequests(fixture(name)))).requests.length;
    }
    expect(counts).toEqual({
      'cases.jsonl': 4,
      'two-requests.http': 2,
      'cve-2022-26134.yaml': 3,
      'waf-cloudwatch-export.txt': 3,
      'browser-session.har': 3,
    });
  });

  it('reads a HAR saved as .json and test cases as a JSON array or object', async () => {
    const har = await collect(
      loadRequests(tempFile('s.json', await readFile(fixture('browser-session.har'), 'utf8'))),
    );
    expect(har.requests).toHaveLength(3);
    const arr = await collect(loadRequests(tempFile('a.json', `[${testCase('a')}, {"method": 1}]`)));
    expect(arr.requests.map((r) => r.id)).toEqual(['a']);
    expect(arr.errors[0]).toMatchObject({ line: 1, message: expect.stringContaining('method') });
    const one = await collect(
      loadRequests(tempFile('o.json', JSON.stringify(JSON.parse(testCase('solo')), null, 2))),
    );
    expect(one.requests.map((r) => r.id)).toEqual(['solo']);
  });

  it('honours an explicit format and expect', async () => {
    const file = tempFile('req.txt', 'GET /x HTTP/1.1\nHost: h\n\n');
    const { requests } = await collect(loadRequests(file, { format: 'raw', expect: 'allow' }));
    expect(requests[0]).toMatchObject({ uri: '/x', expect: 'allow' });
  });

  it('throws a RequestFileError with a one-line message for unreadable paths', async () => {
    await expect(collect(loadRequests('/no/such/file.jsonl'))).rejects.toThrow(RequestFileError);
    await expect(collect(loadRequests('/no/such/file.jsonl'))).rejects.toThrow(
      /^cannot read requests file \/no\/such\/file\.jsonl: no such file$/,
    );
    const dir = mkdtempSync(join(tmpdir(), 'wafgen-dir-'));
    await expect(readAllRequests([dir])).rejects.toThrow(
      `cannot read requests file ${dir}: it is a directory`,
    );
  });
});

describe('readAllRequests', () => {
  it('collects requests and per-entry errors across files, in order', async () => {
    const { requests, errors } = await readAllRequests([
      fixture('cases.jsonl'),
      fixture('two-requests.http'),
    ]);
    expect(requests).toHaveLength(6);
    expect(errors.map((e) => [e.file, e.line])).toEqual([[fixture('cases.jsonl'), 3]]);
    expect(requests[4]!.method).toBe('POST');
  });
});

describe('shared corpus', () => {
  const exploits = sharedPath('corpus', 'exploits.dev.jsonl');
  const benign = sharedPath('corpus', 'benign.dev.jsonl');

  it.skipIf(!exploits || !benign)('parses every exploit and benign request without an error', async () => {
    const ex = await readAllRequests(exploits!);
    const bn = await readAllRequests(benign!);
    expect(ex.errors).toEqual([]);
    expect(bn.errors).toEqual([]);
    expect(ex.requests).toHaveLength(111);
    expect(bn.requests).toHaveLength(2995);
    expect(ex.requests.every((r) => r.expect === 'block' && r.cve)).toBe(true);
    expect(bn.requests.every((r) => r.expect === 'allow' && r.cve === null)).toBe(true);
    expect(new Set([...ex.requests, ...bn.requests].map((r) => r.id)).size).toBe(111 + 2995);

    // Log4Shell sends Authentication twice; order and duplicates survive.
    const log4shell = ex.requests.find((r) => r.id === 'CVE-2021-44228#2') as HttpRequest;
    const auth = headerValues(log4shell, 'Authentication');
    expect(auth).toHaveLength(2);
    expect(auth[0]).toMatch(/^Basic \$\{jndi:/);
    expect(auth[1]).toMatch(/^Bearer \$\{jndi:/);

    // Bodies are UTF-8 byte strings: Content-Length is their length.
    for (const r of [...ex.requests, ...bn.requests]) {
      if (r.body === undefined) continue;
      const cl = headerValues(r, 'content-length');
      if (cl.length) expect(Number(cl[0]), r.id).toBe(r.body.length);
      expect(
        [...r.body].every((c) => c.charCodeAt(0) <= 0xff),
        r.id,
      ).toBe(true);
    }
  });
});
