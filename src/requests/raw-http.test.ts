import { afterAll, describe, expect, it } from 'vitest';
import { collect, fixture, removeTempFiles, tempFile } from '../../test/fixtures/requests/helpers.js';
import { cookiesOf, headerValues, queryArgs } from './model.js';
import { parseRawHttp, parseRawHttpFile, splitRawRequests } from './raw-http.js';

afterAll(removeTempFiles);

const parse = (src: string) => collect(parseRawHttp(src, 'r.http'));

describe('parseRawHttpFile (fixture two-requests.http, CRLF)', () => {
  it('reads both requests; Content-Length delimits the body', async () => {
    const file = fixture('two-requests.http');
    const { requests, errors } = await collect(parseRawHttpFile(file, { expect: 'block' }));
    expect(errors).toEqual([]);
    expect(requests).toHaveLength(2);
    const [login, traversal] = requests;
    expect(login).toMatchObject({
      id: `${file}#1`,
      method: 'POST',
      uri: '/cgi-bin/login.cgi?lang=en',
      path: '/cgi-bin/login.cgi',
      query: 'lang=en',
      body: 'username=admin&password=%27%20OR%20%271%27%3D%271',
      expect: 'block',
      source: file,
    });
    expect(headerValues(login!, 'content-type')).toEqual(['application/x-www-form-urlencoded']);
    expect(cookiesOf(login!)).toEqual([
      ['session', 'abc123'],
      ['theme', 'dark'],
    ]);
    // Absolute-form target: origin form, Host replaced by the URL's authority, nothing normalised.
    expect(traversal).toMatchObject({
      method: 'GET',
      uri: '/admin/../../etc/passwd?x=1&x=2',
      path: '/admin/../../etc/passwd',
      headers: [
        ['Host', 'router.example:8080'],
        ['Accept', '*/*'],
      ],
    });
    expect(traversal!.body).toBeUndefined();
    expect(queryArgs(traversal!.query)).toEqual([
      ['x', '1'],
      ['x', '2'],
    ]);
  });
});

describe('parseRawHttp', () => {
  it('splits LF files without Content-Length at a request line after a blank line', async () => {
    const src = [
      'POST /a HTTP/1.1',
      'Host: h',
      '',
      '{"q": "x"}',
      'second body line',
      '',
      '',
      'GET /b?c=d HTTP/1.0',
      'Host: h',
      '',
      'PUT /c HTTP/2',
      '',
      'data',
      '',
    ].join('\n');
    const { requests, errors } = await parse(src);
    expect(errors).toEqual([]);
    expect(requests.map((r) => [r.method, r.uri, r.body])).toEqual([
      ['POST', '/a', '{"q": "x"}\nsecond body line'],
      ['GET', '/b?c=d', undefined],
      ['PUT', '/c', 'data'],
    ]);
    expect(requests.map((r) => r.id)).toEqual(['r.http#1', 'r.http#2', 'r.http#3']);
  });

  it('keeps blank lines and request-like text inside a Content-Length body', async () => {
    const body = 'line1\r\n\r\nGET /not-a-request HTTP/1.1\r\n';
    const src = `POST /smuggle HTTP/1.1\r\nContent-Length: ${body.length}\r\n\r\n${body}\r\nGET /next HTTP/1.1\r\n\r\n`;
    const { requests, errors } = await parse(src);
    expect(errors).toEqual([]);
    expect(requests.map((r) => [r.uri, r.body])).toEqual([
      ['/smuggle', body],
      ['/next', undefined],
    ]);
  });

  it('keeps bytes as bytes (no UTF-8 round trip) and CR LF inside the body', async () => {
    const src = 'POST /u HTTP/1.1\r\nX-Name: caf\xe9\r\nContent-Length: 6\r\n\r\n\x00\xff\r\n\xc3\xa9';
    const { requests } = await parse(src);
    expect(requests[0]!.headers[0]).toEqual(['X-Name', 'caf\xe9']);
    expect(requests[0]!.body).toBe('\x00\xff\r\n\xc3\xa9');
  });

  it('de-chunks a chunked body', async () => {
    const src =
      'POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n5;ext=1\r\npedia\r\n0\r\n\r\nGET /after HTTP/1.1\r\n\r\n';
    const { requests, errors } = await parse(src);
    expect(errors).toEqual([]);
    expect(requests.map((r) => [r.uri, r.body])).toEqual([
      ['/c', 'Wikipedia'],
      ['/after', undefined],
    ]);
  });

  it('joins folded header lines and keeps duplicate headers in order', async () => {
    const src = 'GET / HTTP/1.1\nX-Long: part one\n  part two\nX-Dup: 1\nx-dup: 2\n';
    const { requests } = await parse(src);
    expect(requests[0]!.headers).toEqual([
      ['X-Long', 'part one part two'],
      ['X-Dup', '1'],
      ['x-dup', '2'],
    ]);
  });

  it('accepts a request line without version and a target with spaces', async () => {
    const { requests } = await parse('GET /cgi-bin/x?cmd=cat /etc/passwd HTTP/1.1\nHost: h\n\n');
    expect(requests[0]!.uri).toBe('/cgi-bin/x?cmd=cat /etc/passwd');
    const short = await parse('GET /legacy\n');
    expect(short.requests[0]).toMatchObject({ method: 'GET', uri: '/legacy', headers: [] });
  });

  it('reports a bad request, with its line, and still parses the next one', async () => {
    const src = ['this is not http', 'Host: h', '', 'GET /ok HTTP/1.1', 'Host: h', ''].join('\n');
    const { requests, errors } = await parse(src);
    expect(errors).toEqual([{ file: 'r.http', line: 1, message: expect.stringContaining('request line') }]);
    expect(requests.map((r) => r.uri)).toEqual(['/ok']);
  });

  it('reports a malformed header line', async () => {
    const { requests, errors } = await parse('\n\nGET / HTTP/1.1\nno colon here\n\nGET /2 HTTP/1.1\n');
    expect(errors).toEqual([
      { file: 'r.http', line: 3, message: expect.stringContaining('malformed header') },
    ]);
    expect(requests.map((r) => r.uri)).toEqual(['/2']);
  });

  it('reports a Content-Length that does not match, without losing the next request', async () => {
    const tooShort = 'POST /a HTTP/1.1\nContent-Length: 3\n\nabcdef\n\nGET /b HTTP/1.1\n\n';
    const r1 = await parse(tooShort);
    expect(r1.errors).toEqual([
      { file: 'r.http', line: 1, message: expect.stringContaining('Content-Length') },
    ]);
    expect(r1.requests.map((r) => r.uri)).toEqual(['/b']);

    const tooLong = 'POST /a HTTP/1.1\nContent-Length: 500\n\nabc\n\nGET /b HTTP/1.1\n\n';
    const r2 = await parse(tooLong);
    expect(r2.errors).toEqual([{ file: 'r.http', line: 1, message: expect.stringContaining('larger than') }]);
    expect(r2.requests.map((r) => r.uri)).toEqual(['/b']);

    const bad = await parse('POST /a HTTP/1.1\nContent-Length: 1, 2\n\nx\n');
    expect(bad.errors[0]!.message).toContain('invalid Content-Length');
  });

  it('splitRawRequests single mode takes the rest as body', () => {
    const [r] = [
      ...splitRawRequests('POST / HTTP/1.1\nContent-Length: 1\n\na\n\nGET /x HTTP/1.1\n', { single: true }),
    ];
    expect(r).toMatchObject({ raw: { method: 'POST', body: 'a\n\nGET /x HTTP/1.1' } });
  });

  // The time it takes is measured by `npm run bench:linearity`.
  it('reads long lines of spaces whole', async () => {
    const body = 'GET ' + ' '.repeat(300_000) + 'x\n';
    const { requests } = await parse(`POST /a HTTP/1.1\nHost: h\n\n${body}\n${body}`);
    expect(requests).toHaveLength(1);
    expect(requests[0]!.body!.length).toBe(2 * body.length);
  });

  it('yields nothing for an empty file', async () => {
    expect(await parse('\r\n\n')).toEqual({ requests: [], errors: [] });
  });

  it('reads files as bytes', async () => {
    const file = tempFile(
      'bin.req',
      Buffer.from('POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\n\xff\xfe', 'latin1'),
    );
    const { requests } = await collect(parseRawHttpFile(file));
    expect(requests[0]!.body).toBe('\xff\xfe');
  });
});
