import { describe, expect, it } from 'vitest';
import { collect, fixture } from '../../test/fixtures/requests/helpers.js';
import { harEntryToRequest, parseHar, parseHarFile } from './har.js';
import { cookiesOf, headerOrder, queryArgs } from './model.js';

describe('parseHarFile (fixture browser-session.har)', () => {
  it('reads the HTTP entries and skips the data: URL', async () => {
    const file = fixture('browser-session.har');
    const { requests, errors } = await collect(parseHarFile(file));
    expect(errors).toEqual([]);
    expect(requests.map((r) => [r.id, r.method, r.uri])).toEqual([
      [`${file}#1`, 'GET', '/api/search?q=O%27Brien&tags=a&tags=b'],
      [`${file}#2`, 'POST', '/api/notes'],
      [`${file}#4`, 'POST', '/login.php'],
    ]);
    for (const r of requests) expect(r).toMatchObject({ expect: 'allow', source: file });
  });

  it('drops pseudo-headers and the fragment; :authority becomes host', async () => {
    const { requests } = await collect(parseHarFile(fixture('browser-session.har')));
    const search = requests[0]!;
    expect(search.fragment).toBeUndefined();
    expect(headerOrder(search)).toBe('host:accept:cookie:user-agent');
    expect(search.headers[0]).toEqual(['host', 'app.example.com']);
    expect(queryArgs(search.query).filter(([n]) => n === 'tags')).toHaveLength(2);
    expect(cookiesOf(search)).toEqual([
      ['_ga', 'GA1.1.123.456'],
      ['session', 'eyJhbGciOiJIUzI1NiJ9.e30.sig'],
    ]);
  });

  it('takes the body from postData (text as UTF-8 bytes, or url-encoded params)', async () => {
    const { requests } = await collect(parseHarFile(fixture('browser-session.har')));
    const notes = requests[1]!;
    expect(notes.body).toBe('{"title":"Gr\xc3\xbc\xc3\x9fe","body":"select * is fine"}');
    expect(notes.body!.length).toBe(45);
    // No cookie header in the entry: rebuilt from request.cookies.
    expect(cookiesOf(notes)).toEqual([['session', 'eyJhbGciOiJIUzI1NiJ9.e30.sig']]);
    expect(requests[2]!.body).toBe('user=jane+doe&next=%2Fhome%3Ftab%3D1');
    expect(requests[2]!.headers[0]).toEqual(['Host', 'legacy.example.com']);
  });
});

describe('parseHar', () => {
  const har = (entries: unknown[]) => JSON.stringify({ log: { version: '1.2', entries } }, null, 2);

  it('reports a bad entry with its line, and keeps the rest', async () => {
    const text = har([
      { request: { method: 'GET' } },
      { request: { method: 'GET', url: 'https://h.example/' } },
    ]);
    const { requests, errors } = await collect(parseHar(text, 'x.har', { expect: 'block' }));
    expect(requests).toMatchObject([
      { id: 'x.har#2', uri: '/', expect: 'block', headers: [['Host', 'h.example']] },
    ]);
    expect(errors).toEqual([
      { file: 'x.har', line: 5, message: expect.stringMatching(/^invalid HAR entry 1: .*url/) },
    ]);
  });

  it('reports invalid JSON and non-HAR documents', async () => {
    expect((await collect(parseHar('{"log": {', 'x.har'))).errors[0]!.message).toMatch(/^invalid JSON/);
    expect((await collect(parseHar('{"entries": []}', 'x.har'))).errors[0]!.message).toMatch(
      /not a HAR file/,
    );
  });

  it('decodes base64 post data and converts ws: URLs', () => {
    const r = harEntryToRequest(
      {
        request: {
          method: 'POST',
          url: 'wss://h.example/socket?v=1',
          headers: [],
          postData: { mimeType: 'application/octet-stream', text: '/wDp', encoding: 'base64' },
        },
      },
      { file: 'f', line: 1, n: 1 },
    );
    expect(r).toMatchObject({ request: { uri: '/socket?v=1', body: '\xff\x00\xe9' } });
  });
});
