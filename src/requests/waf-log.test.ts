import { afterAll, describe, expect, it } from 'vitest';
import { collect, fixture, removeTempFiles, tempFile } from '../../test/fixtures/requests/helpers.js';
import { loadRequests } from './index.js';
import { cookiesOf, headerOrder } from './model.js';
import { parseWafLogFile, parseWafLogLine, wafLogRecordToRequest } from './waf-log.js';

afterAll(removeTempFiles);

const record = (over: Record<string, unknown> = {}) => ({
  timestamp: 1715678467512,
  formatVersion: 1,
  action: 'BLOCK',
  terminatingRuleId: 'block-log4j',
  httpRequest: {
    clientIp: '192.0.2.10',
    country: 'US',
    headers: [
      { name: 'host', value: 'api.example.com' },
      { name: 'x-api-version', value: '${jndi:ldap://x/a}' },
    ],
    uri: '/v1/items',
    args: 'id=1&id=2',
    httpVersion: 'HTTP/2.0',
    httpMethod: 'GET',
    requestId: 'req-1',
    ...over,
  },
});

describe('parseWafLogFile (fixture waf-cloudwatch-export.txt)', () => {
  it('reads CloudWatch export lines: timestamp, then the record', async () => {
    const file = fixture('waf-cloudwatch-export.txt');
    const { requests, errors } = await collect(parseWafLogFile(file));
    expect(errors).toEqual([]);
    expect(requests.map((r) => [r.id, r.method, r.uri, r.clientIp, r.country])).toEqual([
      ['1-6643a2e3-4c5e1f2a3b4c5d6e7f8a9b0c', 'GET', '/search?q=caf%C3%A9&page=2', '198.51.100.23', 'DE'],
      ['1-6643a2e5-0d1e2f3a4b5c6d7e8f9a0b1c', 'GET', '/api/v1/status', '203.0.113.99', 'NL'],
      ['1-6643a2e7-7f8e9d0c1b2a3f4e5d6c7b8a', 'POST', '/cart/items', '2001:db8::42', 'FR'],
    ]);
    const [search, log4j, post] = requests;
    expect(search!.query).toBe('q=caf%C3%A9&page=2');
    expect(cookiesOf(search!)).toEqual([
      ['sid', '9f8e7d6c'],
      ['consent', 'yes'],
    ]);
    expect(headerOrder(search!)).toBe('host:user-agent:accept-language:cookie');
    expect(search!.ja3).toBe('e7d705a3286e19ea42f587b344ee6865');
    expect(log4j!.tags).toEqual(['action:BLOCK', 'rule:AWS-AWSManagedRulesKnownBadInputsRuleSet']);
    // The body is never logged, and a log carries no test expectation.
    expect(post!.body).toBeUndefined();
    for (const r of requests) expect(r.expect).toBeUndefined();
  });
});

describe('parseWafLogLine', () => {
  const lines = (text: string) => collect(parseWafLogLine(text, 'w.log', 4));

  it('maps httpRequest fields, keeping uri and args raw', async () => {
    const { requests } = await lines(JSON.stringify(record({ fragment: 'top', uri: '/a%2f..%2fb' })));
    expect(requests[0]).toEqual({
      id: 'req-1',
      method: 'GET',
      uri: '/a%2f..%2fb?id=1&id=2',
      path: '/a%2f..%2fb',
      query: 'id=1&id=2',
      fragment: 'top',
      headers: [
        ['host', 'api.example.com'],
        ['x-api-version', '${jndi:ldap://x/a}'],
      ],
      clientIp: '192.0.2.10',
      country: 'US',
      source: 'w.log',
      tags: ['action:BLOCK', 'rule:block-log4j'],
    });
  });

  it('unwraps {message} events and splits records written back to back', async () => {
    const wrapped = JSON.stringify({ timestamp: 1, message: JSON.stringify(record()) });
    expect((await lines(wrapped)).requests[0]!.id).toBe('req-1');
    const two = JSON.stringify(record()) + JSON.stringify(record({ requestId: 'req-2' }));
    expect((await lines(two)).requests.map((r) => r.id)).toEqual(['req-1', 'req-2']);
  });

  it('uses <file>#<line> without a requestId and UTF-8 encodes header values', async () => {
    const { requests } = await lines(
      JSON.stringify(record({ requestId: undefined, headers: [{ name: 'X-Name', value: 'Zoë' }] })),
    );
    expect(requests[0]!.id).toBe('w.log#4');
    expect(requests[0]!.headers).toEqual([['X-Name', 'Zo\xc3\xab']]);
  });

  it('reports lines that are not records', async () => {
    expect((await lines('2024-05-14T09:21:07.512Z not json at all')).errors[0]).toMatchObject({
      line: 4,
      message: 'no JSON record on this line',
    });
    expect((await lines('{"httpRequest": {"uri": "/"}}')).errors[0]!.message).toMatch(
      /not an AWS WAF log record: httpRequest\.httpMethod/,
    );
    expect((await lines('{"timestamp": 1, "httpRequest": ')).errors[0]!.message).toMatch(/^invalid JSON/);
    expect(await lines('   ')).toEqual({ requests: [], errors: [] });
  });

  it('wafLogRecordToRequest rejects a broken message field', () => {
    expect(wafLogRecordToRequest({ message: '{oops' }, { file: 'f', line: 2 })).toMatchObject({
      error: { file: 'f', line: 2, message: expect.stringContaining('message field') },
    });
  });
});

describe('WAF log documents through loadRequests', () => {
  it('reads a JSON array with element line numbers', async () => {
    const text = JSON.stringify([record(), { nope: true }, record({ requestId: 'req-3' })], null, 2);
    const file = tempFile('waf.json', text);
    const { requests, errors } = await collect(loadRequests(file));
    expect(requests.map((r) => r.id)).toEqual(['req-1', 'req-3']);
    const line = text.split('\n').findIndex((l) => l.includes('"nope"')); // 0-based line of the key = 1-based line of `{`
    expect(errors).toEqual([{ file, line, message: expect.stringContaining('not an AWS WAF log record') }]);
  });

  it('reads CloudWatch get-log-events output ({events: [{message}]})', async () => {
    const doc = { events: [{ timestamp: 1, message: JSON.stringify(record()), ingestionTime: 2 }] };
    const file = tempFile('events.json', JSON.stringify(doc, null, 2));
    const { requests, errors } = await collect(loadRequests(file));
    expect(errors).toEqual([]);
    expect(requests.map((r) => r.id)).toEqual(['req-1']);
  });

  it('reads Firehose JSON lines in a .jsonl file', async () => {
    const file = tempFile(
      'firehose.jsonl',
      `${JSON.stringify(record())}\n${JSON.stringify(record({ requestId: 'b' }))}\n`,
    );
    const { requests } = await collect(loadRequests(file));
    expect(requests.map((r) => r.id)).toEqual(['req-1', 'b']);
  });
});
