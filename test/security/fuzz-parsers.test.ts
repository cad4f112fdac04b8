// Fuzz pass over the request parsers (issue 14, item 9): whatever text or bytes come in, every
// parser returns requests and per-entry errors, and throws nothing but wafgen's typed input errors.
// Inputs are built from the formats' own fragments (so the fuzz reaches past the first check) mixed
// with arbitrary text; numRuns stay small so the suite stays fast. No timing is asserted: a parser
// that hung would hold the test to its timeout.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';

import { fixture, removeTempFiles, tempFile } from '../fixtures/requests/helpers.js';
import { InputError } from '../../src/core/errors.js';
import { parseHar } from '../../src/requests/har.js';
import { loadRequests, RequestFileError } from '../../src/requests/index.js';
import { parseJsonlLine } from '../../src/requests/jsonl.js';
import type { ParseResult } from '../../src/requests/model.js';
import { parseNucleiTemplate } from '../../src/requests/nuclei.js';
import { parseRawHttp } from '../../src/requests/raw-http.js';
import { parseWafLogLine } from '../../src/requests/waf-log.js';

afterAll(removeTempFiles);

const RUNS = { numRuns: 150, seed: 14 } as const;

/** Every result is a request or an error with a file, a line and a message. */
function checkResults(results: Iterable<ParseResult | undefined>): void {
  for (const r of results) {
    if (r === undefined) continue;
    if ('request' in r) {
      expect(typeof r.request.method).toBe('string');
      expect(typeof r.request.uri).toBe('string');
    } else {
      expect(typeof r.error.message).toBe('string');
      expect(r.error.line).toBeGreaterThanOrEqual(1);
    }
  }
}

/** Run `f`; the only exceptions allowed are wafgen's typed input errors. */
function onlyInputErrors(f: () => void): void {
  try {
    f();
  } catch (e) {
    if (!(e instanceof InputError || e instanceof RequestFileError)) throw e;
  }
}

// --- generators --------------------------------------------------------------------------------------

/** Text that is sometimes anything, often made of the given fragments. */
const textFrom = (fragments: readonly string[], maxLength = 40) =>
  fc.oneof(
    fc.string({ maxLength: 200 }),
    fc.string({ unit: 'binary', maxLength: 200 }),
    fc
      .array(fc.oneof(fc.constantFrom(...fragments), fc.string({ maxLength: 12 })), { maxLength })
      .map((a) => a.join('')),
  );

const deepJson = fc
  .tuple(fc.integer({ min: 0, max: 2_000 }), fc.constantFrom('[', '{"a":'))
  .map(([n, open]) => open.repeat(n) + '1' + (open === '[' ? ']' : '}').repeat(n));

const anyJson = fc.oneof(
  fc.jsonValue({ maxDepth: 6 }).map((v) => JSON.stringify(v)),
  deepJson,
);

const header = fc.tuple(fc.string({ maxLength: 20 }), fc.string({ maxLength: 40 }));
const testCase = fc.record(
  {
    id: fc.string({ maxLength: 20 }),
    method: fc.oneof(fc.constantFrom('GET', 'POST', 'PUT'), fc.string({ maxLength: 10 })),
    uri: fc.oneof(fc.webUrl(), fc.string({ maxLength: 60 }), fc.constant('/a?b=%zz&c')),
    headers: fc.array(header, { maxLength: 5 }),
    body: fc.oneof(fc.constant(null), fc.string({ maxLength: 100 })),
    expect: fc.constantFrom('block', 'allow', null, 'maybe'),
    labels: fc.array(fc.string({ maxLength: 10 }), { maxLength: 3 }),
    asn: fc.oneof(fc.integer(), fc.double()),
  },
  { requiredKeys: [] },
);

const wafRecord = fc.record(
  {
    timestamp: fc.integer(),
    action: fc.constantFrom('ALLOW', 'BLOCK', 'COUNT'),
    httpRequest: fc.record(
      {
        clientIp: fc.oneof(fc.ipV4(), fc.ipV6(), fc.string({ maxLength: 10 })),
        country: fc.string({ maxLength: 3 }),
        headers: fc.array(
          fc.record({ name: fc.string({ maxLength: 10 }), value: fc.string({ maxLength: 30 }) }),
          {
            maxLength: 4,
          },
        ),
        uri: fc.string({ maxLength: 40 }),
        args: fc.string({ maxLength: 40 }),
        httpMethod: fc.string({ maxLength: 8 }),
        httpVersion: fc.constantFrom('HTTP/1.1', 'HTTP/2.0', ''),
      },
      { requiredKeys: [] },
    ),
  },
  { requiredKeys: [] },
);

const RAW_FRAGMENTS = [
  'GET / HTTP/1.1\r\n',
  'POST /login HTTP/1.1\n',
  'Host: example.com\r\n',
  'Content-Length: 5\r\n',
  'Content-Length: 99999999999\r\n',
  'Transfer-Encoding: chunked\r\n',
  '\r\n',
  '\n\n',
  '0\r\n\r\n',
  '5\r\nhello\r\n',
  'ffffffff\r\n',
  ' folded\r\n',
  'GET http://h/%zz?a=b HTTP/1.0\r\n',
  '\u0000',
  '\u00ff',
];

const NUCLEI_FRAGMENTS = [
  'id: CVE-2024-0001\n',
  'info:\n  name: x\n  severity: high\n',
  'http:\n',
  '  - method: GET\n',
  '    path:\n',
  '      - \'{{BaseURL}}/a?b={{url_encode("x y")}}\'\n',
  '      - \'{{BaseURL}}/{{repeat("A", 99999999)}}\'\n',
  '      - \'{{BaseURL}}/{{padding("x", 100000000)}}\'\n',
  "      - '{{BaseURL}}/{{base64(rand_base(8))}}'\n",
  '  - raw:\n      - |\n        GET /{{path}} HTTP/1.1\n        Host: {{Hostname}}\n\n',
  '    payloads:\n      path:\n        - a\n        - b\n',
  '    attack: clusterbomb\n',
  '    body: "{{concat(\\"a\\", to_upper(\\"b\\"))}}"\n',
  'variables:\n  v: "{{v}}"\n',
  '&anchor ',
  '*anchor',
  '{{',
  '}}',
  '"\n',
  ':\n',
];

// --- properties --------------------------------------------------------------------------------------

describe('request parsers under fuzz: results or typed input errors, never a crash', () => {
  it('JSON Lines test cases', () => {
    const line = fc.oneof(
      testCase.map((c) => JSON.stringify(c)),
      anyJson,
      textFrom(['{', '}', '"method":', '"GET"', '"uri":', '"/"', '[', ']', ',', '\\u0000', '"headers":']),
    );
    fc.assert(
      fc.property(line, (text) => onlyInputErrors(() => checkResults([parseJsonlLine(text, 'f.jsonl', 1)]))),
      RUNS,
    );
  });

  it('raw HTTP requests (bytes)', () => {
    fc.assert(
      fc.property(textFrom(RAW_FRAGMENTS), (src) =>
        onlyInputErrors(() =>
          checkResults(parseRawHttp(Buffer.from(src, 'utf8').toString('latin1'), 'f.http')),
        ),
      ),
      RUNS,
    );
  });

  it('HAR documents', () => {
    const har = readFileSync(fixture('browser-session.har'), 'utf8');
    const entry = fc.record(
      {
        request: fc.record(
          {
            method: fc.string({ maxLength: 8 }),
            url: fc.oneof(fc.webUrl(), fc.string({ maxLength: 30 })),
            headers: fc.array(
              fc.record({ name: fc.string({ maxLength: 10 }), value: fc.string({ maxLength: 20 }) }),
              {
                maxLength: 3,
              },
            ),
            postData: fc.record(
              { text: fc.string({ maxLength: 50 }), encoding: fc.constantFrom('base64', 'x') },
              {
                requiredKeys: [],
              },
            ),
            queryString: fc.anything({ maxDepth: 2 }),
          },
          { requiredKeys: [] },
        ),
      },
      { requiredKeys: [] },
    );
    const doc = fc.oneof(
      fc
        .array(fc.oneof(entry, fc.anything({ maxDepth: 3 })), { maxLength: 4 })
        .map((entries) => JSON.stringify({ log: { version: '1.2', entries } })),
      fc.integer({ min: 0, max: har.length }).map((n) => har.slice(0, n)),
      anyJson,
    );
    fc.assert(
      fc.property(doc, (text) => onlyInputErrors(() => checkResults(parseHar(text, 'f.har')))),
      RUNS,
    );
  });

  it('nuclei templates (YAML and the DSL in {{…}})', () => {
    const template = readFileSync(fixture('cve-2022-26134.yaml'), 'utf8');
    const text = fc.oneof(
      textFrom(NUCLEI_FRAGMENTS, 12),
      fc.integer({ min: 0, max: template.length }).map((n) => template.slice(0, n)),
      fc
        .tuple(fc.integer({ min: 0, max: template.length }), fc.constantFrom(...NUCLEI_FRAGMENTS))
        .map(([at, insert]) => template.slice(0, at) + insert + template.slice(at)),
    );
    fc.assert(
      fc.property(text, (src) => onlyInputErrors(() => checkResults(parseNucleiTemplate(src, 'f.yaml')))),
      { ...RUNS, numRuns: 100 },
    );
  });

  it('AWS WAF log lines (JSON, CloudWatch export, records back to back)', () => {
    const line = fc.oneof(
      wafRecord.map((r) => JSON.stringify(r)),
      fc.tuple(wafRecord, wafRecord).map(([a, b]) => JSON.stringify(a) + JSON.stringify(b)),
      wafRecord.map((r) => `2024-05-14T09:21:07.512Z ${JSON.stringify(r)}`),
      anyJson,
      textFrom(['{', '}', '"httpRequest":', '{"headers":[', ']', '2024-05-14T09:21:07Z ', '"uri":"/"', ',']),
    );
    fc.assert(
      fc.property(line, (text) => onlyInputErrors(() => checkResults(parseWafLogLine(text, 'f.log', 1)))),
      RUNS,
    );
  });

  it('whole files through format detection', async () => {
    const content = fc.oneof(
      textFrom([...RAW_FRAGMENTS, ...NUCLEI_FRAGMENTS.slice(0, 6)]),
      fc
        .array(
          testCase.map((c) => JSON.stringify(c)),
          { maxLength: 5 },
        )
        .map((l) => l.join('\n')),
      anyJson,
    );
    const name = fc.constantFrom('f.jsonl', 'f.json', 'f.har', 'f.yaml', 'f.http', 'f.txt', 'f');
    await fc.assert(
      fc.asyncProperty(content, name, async (text, file) => {
        try {
          const results: ParseResult[] = [];
          for await (const r of loadRequests(tempFile(file, text))) results.push(r);
          checkResults(results);
        } catch (e) {
          if (!(e instanceof InputError || e instanceof RequestFileError)) throw e;
        }
      }),
      { ...RUNS, numRuns: 60 },
    );
  });
});
