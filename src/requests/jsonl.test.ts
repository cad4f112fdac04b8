import { afterAll, describe, expect, it } from 'vitest';
import { collect, fixture, removeTempFiles, tempFile } from '../../test/fixtures/requests/helpers.js';
import { parseJsonlFile, parseJsonlLine } from './jsonl.js';
import { cookiesOf, queryArgs } from './model.js';

afterAll(removeTempFiles);

describe('parseJsonlFile (fixture cases.jsonl)', () => {
  it('parses every good line and reports the malformed one by line number', async () => {
    const file = fixture('cases.jsonl');
    const { requests, errors } = await collect(parseJsonlFile(file));
    expect(requests.map((r) => r.id)).toEqual(['CVE-2021-41773#1', `${file}#2`, 'benign-1', 'no-expect']);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ file, line: 3 });
    expect(errors[0]!.message).toMatch(/^invalid JSON: /);
  });

  it('keeps the raw target and metadata', async () => {
    const { requests } = await collect(parseJsonlFile(fixture('cases.jsonl')));
    const [traversal, comment, benign, options] = requests;
    expect(traversal).toMatchObject({
      method: 'GET',
      uri: '/cgi-bin/.%2e/%2e%2e/%2e%2e/etc/passwd',
      path: '/cgi-bin/.%2e/%2e%2e/%2e%2e/etc/passwd',
      query: '',
      expect: 'block',
      cve: 'CVE-2021-41773',
      class: 'path-traversal',
      cwe: 'CWE-22',
      source: 'hand-written',
    });
    expect(traversal!.body).toBeUndefined();
    expect(benign).toMatchObject({ cve: null, cwe: null, query: 'q=union+station&q=&flag' });
    expect(queryArgs(benign!.query)).toEqual([
      ['q', 'union+station'],
      ['q', ''],
      ['flag', ''],
    ]);
    expect(cookiesOf(benign!)).toEqual([
      ['a', '1'],
      ['b', '2'],
      ['a', '3'],
    ]);
    expect(options).toMatchObject({ method: 'OPTIONS', uri: '*', path: '*', headers: [] });
    expect(options!.expect).toBeUndefined();
    expect(comment).toMatchObject({ clientIp: '203.0.113.7', country: 'AT', labels: ['app:comments'] });
  });

  it('turns text into UTF-8 byte strings (body length = Content-Length)', async () => {
    const { requests } = await collect(parseJsonlFile(fixture('cases.jsonl')));
    const comment = requests[1]!;
    expect(comment.body).toContain('Gr\xc3\xbc\xc3\x9fe');
    expect(comment.body!.length).toBe(46);
    expect(comment.headers).toContainEqual(['Content-Length', '46']);
  });

  it('applies opts.expect only where a record has none', async () => {
    const { requests } = await collect(parseJsonlFile(fixture('cases.jsonl'), { expect: 'block' }));
    expect(requests.map((r) => r.expect)).toEqual(['block', 'allow', 'allow', 'block']);
  });
});

describe('parseJsonlLine', () => {
  const line = (obj: unknown) => parseJsonlLine(JSON.stringify(obj), 'f.jsonl', 7);

  it('skips blank lines', () => {
    expect(parseJsonlLine('   ', 'f', 1)).toBeUndefined();
  });

  it('reports schema problems with the field path', () => {
    const r = line({ method: 'GET', uri: '/', headers: [['Host']], expect: 'deny' });
    expect(r).toEqual({
      error: { file: 'f.jsonl', line: 7, message: expect.stringMatching(/headers\.0.*expect/s) },
    });
    expect(line({ uri: '/' })).toMatchObject({ error: { message: expect.stringContaining('method') } });
    expect(line({ method: 'GET /', uri: '/' })).toMatchObject({
      error: { message: expect.stringContaining('method') },
    });
    expect(line({ method: 'GET', uri: '' })).toMatchObject({
      error: { message: expect.stringContaining('uri') },
    });
    expect(line({ method: 'GET', uri: '/', clientIp: '999.1.1.1' })).toMatchObject({
      error: { message: expect.stringContaining('clientIp') },
    });
    expect(parseJsonlLine('[1,2]', 'f', 1)).toMatchObject({
      error: { message: expect.stringContaining('invalid') },
    });
  });

  it('accepts optional fields, null body, and an absolute-form uri', () => {
    const r = line({
      method: 'GET',
      uri: 'http://shop.example:8080/a?b=1',
      headers: [['Accept', '*/*']],
      body: null,
      asn: 64496,
      ja3: 'e7d705a3286e19ea42f587b344ee6865',
      tags: ['x'],
    });
    expect(r).toEqual({
      request: {
        id: 'f.jsonl#7',
        method: 'GET',
        uri: '/a?b=1',
        path: '/a',
        query: 'b=1',
        headers: [
          ['Host', 'shop.example:8080'],
          ['Accept', '*/*'],
        ],
        asn: 64496,
        ja3: 'e7d705a3286e19ea42f587b344ee6865',
        tags: ['x'],
      },
    });
  });

  it('encodes a raw emoji in the uri as its UTF-8 bytes', () => {
    const r = line({ method: 'GET', uri: '/search?q=\u{1f600}', headers: [] });
    expect(r).toMatchObject({ request: { query: 'q=\xf0\x9f\x98\x80' } });
  });
});

describe('parseJsonlFile streaming', () => {
  it('handles CRLF, a BOM and many lines', async () => {
    const rows = Array.from({ length: 5000 }, (_, i) =>
      JSON.stringify({ id: `r${i}`, method: 'GET', uri: `/item/${i}`, headers: [['Host', 'h']] }),
    );
    const file = tempFile('big.jsonl', '\ufeff' + rows.join('\r\n') + '\r\n');
    let count = 0;
    let last = '';
    for await (const r of parseJsonlFile(file)) {
      if (!('request' in r)) throw new Error(r.error.message);
      count++;
      last = r.request.uri;
    }
    expect(count).toBe(5000);
    expect(last).toBe('/item/4999');
  });

  it('throws a one-line error for a missing file', async () => {
    await expect(collect(parseJsonlFile('/nonexistent/x.jsonl'))).rejects.toThrow(
      'cannot read requests file /nonexistent/x.jsonl: no such file',
    );
  });
});
