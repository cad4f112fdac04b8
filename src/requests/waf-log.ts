// AWS WAF log records (CloudWatch Logs, S3, Firehose), replayed as requests.
//
// Accepted layouts:
//   * JSON lines, one record per line (S3 / Firehose delivery), also several records back to back on
//     one line (`{...}{...}`, Firehose without a delimiter);
//   * CloudWatch Logs export lines: `<timestamp> <json record>`;
//   * objects whose `message` field holds the record as a JSON string (or object): CloudWatch
//     `get-log-events` / `filter-log-events` events, Logs Insights exports;
//   * a JSON document: an array of any of the above, `{"events":[...]}`, or a single record.
//
// Mapping: `httpRequest.httpMethod` → method, `uri` + `?` + `args` → uri (both logged raw), `headers`
// in order, `clientIp`, `country`, `fragment`, `requestId` → id (else `<file>#<line>`), `clientAsn`,
// `ja3Fingerprint`, `ja4Fingerprint`. AWS WAF never logs the body, so `body` stays undefined and Body /
// JsonBody statements cannot be replayed from logs. `expect` is left unset (the log's `action` is the
// outcome under the web ACL of the time, not a test expectation); `action` and `terminatingRuleId`
// are kept as tags (`action:BLOCK`, `rule:<id>`) for diffing a simulation against the log.

import { z } from 'zod';
import { utf8ToByteString } from '../core/bytes.js';
import { zodMessage, readLines } from './jsonl.js';
import { isPlainObject, parseJson, splitConcatenatedJson } from './json-scan.js';
import { type Expectation, type ParseResult, buildRequest } from './model.js';
import type { ReadOptions } from './io.js';

const wafLogRecordSchema = z.object({
  httpRequest: z.object({
    clientIp: z.string().optional(),
    country: z.string().optional(),
    headers: z.array(z.object({ name: z.string(), value: z.string().nullish() })).default([]),
    uri: z.string(),
    args: z.string().nullish(),
    httpMethod: z.string().min(1),
    requestId: z.string().nullish(),
    fragment: z.string().nullish(),
  }),
  action: z.string().optional(),
  terminatingRuleId: z.string().optional(),
  clientAsn: z.union([z.number(), z.string()]).optional(),
  ja3Fingerprint: z.string().optional(),
  ja4Fingerprint: z.string().optional(),
});

export interface WafLogOptions {
  /** `expect` for every request (logs carry none). */
  expect?: Expectation;
}

/** True if `value` looks like a WAF log record or a wrapper around one (used for format sniffing). */
export function looksLikeWafLog(value: unknown): boolean {
  if (Array.isArray(value)) return value.length > 0 && looksLikeWafLog(value[0]);
  if (!isPlainObject(value)) return false;
  if (isPlainObject(value.httpRequest)) return true;
  if (Array.isArray(value.events)) return true;
  if (typeof value.message === 'string') return value.message.includes('"httpRequest"');
  return isPlainObject(value.message) && isPlainObject(value.message.httpRequest);
}

/** Convert one log record (or a `{message}` wrapper around one) to a request. */
export function wafLogRecordToRequest(
  value: unknown,
  where: { file: string; line: number },
  opts: WafLogOptions = {},
): ParseResult {
  if (isPlainObject(value) && value.httpRequest === undefined && value.message !== undefined) {
    const inner =
      typeof value.message === 'string' ? parseJson(value.message.trim()) : { value: value.message };
    if ('error' in inner) return { error: { ...where, message: `message field: ${inner.error}` } };
    value = inner.value;
  }
  const parsed = wafLogRecordSchema.safeParse(value);
  if (!parsed.success) {
    return { error: { ...where, message: `not an AWS WAF log record: ${zodMessage(parsed.error)}` } };
  }
  const rec = parsed.data;
  const h = rec.httpRequest;
  const args = h.args ?? '';
  const uri = utf8ToByteString(args === '' ? h.uri : `${h.uri}?${args}`);
  const asn = rec.clientAsn === undefined ? NaN : Number(rec.clientAsn);
  const tags: string[] = [];
  if (rec.action) tags.push(`action:${rec.action}`);
  if (rec.terminatingRuleId) tags.push(`rule:${rec.terminatingRuleId}`);
  return {
    request: buildRequest({
      id: h.requestId || `${where.file}#${where.line}`,
      method: h.httpMethod,
      uri,
      headers: h.headers.map((x): [string, string] => [
        utf8ToByteString(x.name),
        utf8ToByteString(x.value ?? ''),
      ]),
      fragment: h.fragment ? utf8ToByteString(h.fragment) : undefined,
      clientIp: h.clientIp,
      country: h.country && h.country !== '-' ? h.country : undefined,
      asn: Number.isInteger(asn) ? asn : undefined,
      ja3: rec.ja3Fingerprint,
      ja4: rec.ja4Fingerprint,
      expect: opts.expect,
      source: where.file,
      tags: tags.length ? tags : undefined,
    }),
  };
}

/** Records inside an already-parsed JSON document (array, `{events}`, or one record). */
export function* wafLogDocument(
  value: unknown,
  file: string,
  lineOf: (index: number) => number,
  opts: WafLogOptions = {},
): Generator<ParseResult> {
  if (isPlainObject(value) && Array.isArray(value.events)) value = value.events;
  if (!Array.isArray(value)) {
    yield wafLogRecordToRequest(value, { file, line: lineOf(0) }, opts);
    return;
  }
  for (let i = 0; i < value.length; i++)
    yield wafLogRecordToRequest(value[i], { file, line: lineOf(i) }, opts);
}

/** Parse one line of a log file: a record, records back to back, or `<timestamp> <record>`. */
export function* parseWafLogLine(
  text: string,
  file: string,
  line: number,
  opts: WafLogOptions = {},
): Generator<ParseResult> {
  let t = text.trim();
  if (t === '') return;
  // CloudWatch export / `aws logs tail`: a timestamp (and maybe a stream name) before the JSON.
  if (t[0] !== '{' && t[0] !== '[') {
    const brace = t.indexOf('{');
    if (brace < 0) {
      yield { error: { file, line, message: 'no JSON record on this line' } };
      return;
    }
    t = t.slice(brace);
  }
  const json = parseJson(t);
  if ('value' in json) {
    yield* wafLogDocument(json.value, file, () => line, opts);
    return;
  }
  const parts = splitConcatenatedJson(t);
  if (parts.length < 2) {
    yield { error: { file, line, message: json.error } };
    return;
  }
  for (const part of parts) {
    const one = parseJson(part);
    if ('error' in one) yield { error: { file, line, message: one.error } };
    else yield* wafLogDocument(one.value, file, () => line, opts);
  }
}

/** Parse a WAF log file of lines (JSON lines or CloudWatch export lines), streaming. */
export async function* parseWafLogFile(
  file: string,
  opts: WafLogOptions & ReadOptions = {},
): AsyncGenerator<ParseResult> {
  for await (const { text, line } of readLines(file, opts.maxBytes))
    yield* parseWafLogLine(text, file, line, opts);
}
