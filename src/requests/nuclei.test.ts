import { describe, expect, it } from 'vitest';
import { collect, fixture } from '../../test/fixtures/requests/helpers.js';
import { headerValues } from './model.js';
import {
  DEFAULT_USER_AGENT,
  INTERACTSH_HOST,
  MAX_PAYLOAD_VARIANTS,
  parseNucleiFile,
  parseNucleiTemplate,
  TARGET_HOST,
} from './nuclei.js';

const parse = (yaml: string, opts = {}) => collect(parseNucleiTemplate(yaml, 't.yaml', opts));

describe('parseNucleiFile (fixture cve-2022-26134.yaml)', () => {
  it('yields the path-form request, two payload variants of the raw request, and one unresolved error', async () => {
    const file = fixture('cve-2022-26134.yaml');
    const { requests, errors } = await collect(parseNucleiFile(file));
    expect(requests.map((r) => r.id)).toEqual(['CVE-2022-26134#1', 'CVE-2022-26134#2', 'CVE-2022-26134#3']);
    expect(errors).toEqual([{ file, line: 43, message: 'unresolved placeholder {{csrf_token}}' }]);
    for (const r of requests) {
      expect(r).toMatchObject({ expect: 'block', cve: 'CVE-2022-26134', cwe: 'CWE-917', source: file });
      expect(r.tags).toContain('confluence');
      expect(JSON.stringify(r)).not.toContain('{{');
    }
  });

  it('resolves {{BaseURL}} to "" in the path and to the base URL in headers; evaluates variables', async () => {
    const { requests } = await collect(parseNucleiFile(fixture('cve-2022-26134.yaml')));
    const get = requests[0]!;
    expect(get.method).toBe('GET');
    expect(get.uri).toMatch(/^\/%24%7B%28%23a%3D%40org\.apache.*exec%28%22echo\+[a-z0-9]{8}%22%29/);
    expect(get.query).toBe('');
    expect(get.headers).toEqual([
      ['Host', TARGET_HOST],
      ['User-Agent', DEFAULT_USER_AGENT],
      ['Referer', 'http://target.example/login.action'],
      ['Accept', '*/*'],
    ]);
  });

  it('expands payloads, drops @annotations, resolves helpers and sets Content-Length', async () => {
    const { requests } = await collect(parseNucleiFile(fixture('cve-2022-26134.yaml')));
    const [, a, b] = requests;
    const marker = /echo\+([a-z0-9]{8})/.exec(requests[0]!.uri)![1]!;
    for (const r of [a!, b!]) {
      expect(r.method).toBe('POST');
      expect(r.uri).toBe('/pages/createpage-entervariables.action');
      expect(headerValues(r, 'x-callback')).toEqual([INTERACTSH_HOST]);
      expect(headerValues(r, 'content-length')).toEqual([String(r.body!.length)]);
      // The same variable value everywhere in the template.
      expect(r.body).toContain(`&token=${Buffer.from(`wafgen-${marker}`).toString('base64')}`);
      expect(r.headers.map(([n]) => n)).toEqual([
        'Host',
        'User-Agent',
        'Content-Type',
        'X-Callback',
        'Accept',
        'Content-Length',
      ]);
    }
    expect(a!.body).toMatch(/^queryString=%5cu0027%2b%7bClass\.forName/);
    expect(b!.body).toMatch(/^queryString=%24%7b%40java\.lang\.Runtime/);
    expect(a!.body!.endsWith('\n')).toBe(false);
  });

  it('is deterministic', async () => {
    const one = await collect(parseNucleiFile(fixture('cve-2022-26134.yaml')));
    const two = await collect(parseNucleiFile(fixture('cve-2022-26134.yaml')));
    expect(two).toEqual(one);
  });

  it('has an interactsh-style stand-in host', () => {
    expect(INTERACTSH_HOST).toMatch(/^[a-z0-9]{33}\.oast\.fun$/);
  });
});

describe('parseNucleiTemplate', () => {
  it('reads legacy requests: with method/path/headers/body', async () => {
    const { requests, errors } = await parse(`
id: CVE-2099-0001
info:
  name: test
  classification:
    cve-id:
      - cve-2099-0001
    cwe-id: cwe-89
  tags: [sqli, test]
requests:
  - method: POST
    path:
      - "{{BaseURL}}/api/search?redirect={{BaseURL}}/home"
      - "{{RootURL}}"
    headers:
      Host: "{{Hostname}}:8443"
      Content-Type: application/json
      Content-Length: 999
      X-Count: 5
    body: '{"q":"1'' union select md5(\\"{{randstr}}\\")-- -"}'
`);
    expect(errors).toEqual([]);
    expect(requests).toHaveLength(2);
    const [search, root] = requests;
    expect(search).toMatchObject({
      id: 'CVE-2099-0001#1',
      method: 'POST',
      uri: '/api/search?redirect=http://target.example/home',
      cve: 'CVE-2099-0001',
      cwe: 'CWE-89',
      tags: ['sqli', 'test'],
    });
    expect(search!.body).toMatch(/^\{"q":"1' union select md5\(\\"[A-Za-z0-9]{27}\\"\)-- -"\}$/);
    expect(search!.headers).toEqual([
      ['Host', 'target.example:8443'],
      ['User-Agent', DEFAULT_USER_AGENT],
      ['Content-Type', 'application/json'],
      ['X-Count', '5'],
      ['Accept', '*/*'],
      ['Content-Length', String(search!.body!.length)],
    ]);
    expect(root!.uri).toBe('/');
  });

  it('evaluates helper functions and arithmetic on bytes', async () => {
    const { requests, errors } = await parse(`
id: helpers
variables:
  a: "abc"
  hex: "{{hex_decode('ff00e9')}}"
http:
  - raw:
      - |
        POST /x?h={{md5(a)}}&r={{repeat("ab", 3)}}&l={{to_lower("MiXeD")}}&e={{url_encode("a b/&é")}} HTTP/1.1
        Host: {{Host}}
        X-B64: {{base64(hex)}}
        X-Dec: {{base64_decode("d2FmZ2Vu")}}
        X-Math: {{7*7}}-{{(1+2)*3}}-{{concat(a, 1, "z")}}
        X-Pad: {{padding("7", "0", 3, "prefix")}}
        X-Rand: {{rand_int(10, 20)}} {{rand_text_alpha(5)}} {{rand_base(4, "xy")}}

        {{hex}}
`);
    expect(errors).toEqual([]);
    const r = requests[0]!;
    expect(r.query).toBe('h=900150983cd24fb0d6963f7d28e17f72&r=ababab&l=mixed&e=a+b%2F%26%C3%A9');
    expect(headerValues(r, 'x-b64')).toEqual(['/wDp']);
    expect(headerValues(r, 'x-dec')).toEqual(['wafgen']);
    expect(headerValues(r, 'x-math')).toEqual(['49-9-abc1z']);
    expect(headerValues(r, 'x-pad')).toEqual(['007']);
    expect(headerValues(r, 'x-rand')[0]).toMatch(/^1\d [A-Za-z]{5} [xy]{4}$/);
    expect(r.body).toBe('\xff\x00\xe9');
  });

  it('caps payload expansion at MAX_PAYLOAD_VARIANTS and supports pitchfork and §markers§', async () => {
    const { requests } = await parse(`
id: payloads
http:
  - raw:
      - |
        GET /?u={{user}}&p={{pass}} HTTP/1.1
        Host: {{Hostname}}
      - |
        GET /static HTTP/1.1
        Host: {{Hostname}}
    attack: clusterbomb
    payloads:
      user: [admin, root, guest]
      pass: [a, b, c]
  - method: GET
    path:
      - "{{BaseURL}}/§file§?n={{n}}"
    attack: pitchfork
    payloads:
      file: [etc/passwd, win.ini, boot.ini]
      n: [1, 2]
`);
    expect(requests.map((r) => r.uri)).toEqual([
      '/?u=admin&p=a',
      '/?u=admin&p=b',
      '/?u=admin&p=c',
      '/?u=root&p=a',
      '/?u=root&p=b',
      '/static',
      '/etc/passwd?n=1',
      '/win.ini?n=2',
    ]);
    expect(MAX_PAYLOAD_VARIANTS).toBe(5);
  });

  it('reports requests it cannot make concrete, and keeps the others', async () => {
    const { requests, errors } = await parse(`
id: CVE-2099-0002
http:
  - raw:
      - |
        POST /a HTTP/1.1
        Host: {{Hostname}}

        {{generate_java_gadget("dns", "x", "base64")}}
      - |
        GET /b?x={{words}} HTTP/1.1
        Host: {{Hostname}}
      - |
        GET /c HTTP/1.1
        Host: {{Hostname}}
        X-Token: {{unknown-name}}
      - |
        GET /d HTTP/1.1
        Host: {{Hostname}}

        {{ unterminated
    payloads:
      words: helpers/wordlists/words.txt
  - method: GET
    path:
      - "{{BaseURL}}/ok"
  - fuzzing:
      - part: query
`);
    expect(requests.map((r) => [r.id, r.uri])).toEqual([['CVE-2099-0002#1', '/ok']]);
    expect(errors.map((e) => [e.line, e.message])).toEqual([
      [6, expect.stringContaining('unresolved placeholder {{generate_java_gadget()}}')],
      [11, expect.stringContaining('payload "words" is read from a file (helpers/wordlists/words.txt)')],
      [14, 'unresolved placeholder {{unknown-name}}'],
      [18, expect.stringContaining('unresolved placeholder {{ unterminated')],
      [27, expect.stringContaining('neither raw: nor path:')],
    ]);
  });

  it('stops variables that grow without bound instead of exhausting memory', async () => {
    const levels = Array.from({ length: 40 }, (_, i) => `  v${i}: "{{v${i + 1}}}{{v${i + 1}}}"`).join('\n');
    const yaml = `id: bomb\nvariables:\n${levels}\n  v40: "{{repeat('x', 1000)}}"\nhttp:\n  - path: ["{{BaseURL}}/?a={{v0}}"]\n`;
    const { requests, errors } = await parse(yaml);
    expect(requests).toEqual([]);
    expect(errors[0]!.message).toMatch(/unresolved placeholder .*too large/);
  });

  it('keeps unsafe raw requests exactly as written', async () => {
    const { requests } = await parse(`
id: smuggle
http:
  - unsafe: true
    raw:
      - |+
        POST / HTTP/1.1
        Host: {{Hostname}}
        Content-Length: 4
        Transfer-Encoding: chunked

        0

        G

`);
    expect(requests[0]!.headers).toEqual([
      ['Host', TARGET_HOST],
      ['Content-Length', '4'],
      ['Transfer-Encoding', 'chunked'],
    ]);
    expect(requests[0]!.body).toBe('0\n\nG\n\n');
  });

  it('turns an absolute {{BaseURL}} request line into origin form', async () => {
    const { requests } = await parse(`
id: abs
http:
  - raw:
      - |
        GET {{BaseURL}}/admin?x=1 HTTP/1.1
        Host: {{Hostname}}
`);
    expect(requests[0]).toMatchObject({
      uri: '/admin?x=1',
      headers: [
        ['Host', TARGET_HOST],
        ['User-Agent', DEFAULT_USER_AGENT],
        ['Accept', '*/*'],
      ],
    });
  });

  it('takes the CVE from the id when there is no classification; honours opts.expect', async () => {
    const cve = await parse('id: CVE-2021-44228\nhttp:\n  - path: ["{{BaseURL}}/"]\n');
    expect(cve.requests[0]).toMatchObject({ cve: 'CVE-2021-44228', cwe: null, expect: 'block' });
    const plain = await parse('id: exposed-panel\nhttp:\n  - path: ["{{BaseURL}}/login"]\n', {
      expect: 'allow',
    });
    expect(plain.requests[0]).toMatchObject({
      id: 'exposed-panel#1',
      cve: null,
      expect: 'allow',
      uri: '/login',
    });
  });

  it('reports YAML and structure errors for the whole file', async () => {
    expect((await parse('id: x\nhttp:\n  - raw: [\n')).errors[0]).toMatchObject({
      file: 't.yaml',
      message: expect.stringMatching(/^invalid YAML/),
    });
    expect((await parse('- just a list\n')).errors[0]!.message).toMatch(/not a nuclei template/);
    expect((await parse('id: dns-only\ndns:\n  - name: "{{FQDN}}"\n')).errors[0]!.message).toMatch(
      /no http:/,
    );
  });
});
