// The design's request test-case format: JSON Lines, one request per line.
//
//   {"id":"CVE-2021-44228#1","method":"GET","uri":"/path?q=1","headers":[["Host","target.example"]],
//    "body":"optional string","expect":"block","cve":"CVE-2021-44228","class":"jndi-injection",
//    "cwe":"CWE-917","source":"where it came from"}
//
// Read line by line (node:readline) so memory stays flat however large the file is. Blank lines are
// skipped; a line that is not valid JSON or not a valid record yields an error for that line only.

import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import { utf8ToByteString } from '../core/bytes.js';
import { checkByteCount, formatBytes, InputLimitError, limitOf } from '../core/limits.js';
import { assertReadableFile, fileError, stripBom, type ReadOptions } from './io.js';
import { parseJson } from './json-scan.js';
import { type Expectation, type ParseResult, buildRequest, setHeader, toOriginForm } from './model.js';

/** RFC 9110 token: what a method may contain. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

const testCaseSchema = z.object({
  id: z.string().min(1).optional(),
  method: z.string().regex(TOKEN, 'must be an HTTP method token'),
  uri: z
    .string()
    .min(1)
    .refine((u) => !/[\r\n]/.test(u), 'must not contain CR or LF'),
  headers: z.array(z.tuple([z.string().min(1), z.string()])).default([]),
  body: z.string().nullish(),
  fragment: z.string().optional(),
  expect: z.enum(['block', 'allow']).nullish(),
  cve: z.string().nullish(),
  class: z.string().nullish(),
  cwe: z.string().nullish(),
  source: z.string().nullish(),
  clientIp: z.union([z.ipv4(), z.ipv6()]).optional(),
  country: z
    .string()
    .regex(/^[A-Za-z]{2}$/, 'must be an ISO 3166-1 alpha-2 code')
    .optional(),
  asn: z.number().int().nonnegative().optional(),
  labels: z.array(z.string().min(1)).optional(),
  ja3: z.string().optional(),
  ja4: z.string().optional(),
  tags: z.array(z.string()).optional(),
});

/** A test case as written (before defaults): what the programmatic API accepts as a request object. */
export type TestCaseInput = z.input<typeof testCaseSchema>;

export interface TestCaseOptions {
  /** `expect` for records that do not set one. */
  expect?: Expectation;
}

/** One-line summary of a Zod error: `path: message; path: message`. */
export function zodMessage(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((i) => `${i.path.length ? i.path.join('.') : 'record'}: ${i.message}`)
    .join('; ');
}

/**
 * Validate one test-case record (already JSON-parsed) and turn it into a request. `where` names the
 * record for a missing id (`<file>#<line>`) and for errors.
 */
export function testCaseToRequest(
  value: unknown,
  where: { file: string; line: number },
  opts: TestCaseOptions = {},
): ParseResult {
  const parsed = testCaseSchema.safeParse(value);
  if (!parsed.success) {
    return { error: { ...where, message: `invalid test case: ${zodMessage(parsed.error)}` } };
  }
  const r = parsed.data;
  const headers: [string, string][] = r.headers.map(([n, v]) => [utf8ToByteString(n), utf8ToByteString(v)]);
  // Tolerate an absolute-form URI (`http://host/a`): convert it to origin form, Host from the URL.
  const target = toOriginForm(utf8ToByteString(r.uri));
  if (target.host !== undefined) setHeader(headers, 'Host', target.host, 0);
  const expect = r.expect ?? opts.expect;
  return {
    request: buildRequest({
      id: r.id ?? `${where.file}#${where.line}`,
      method: r.method,
      uri: target.uri,
      headers,
      fragment: r.fragment === undefined ? undefined : utf8ToByteString(r.fragment),
      body: r.body === null || r.body === undefined ? undefined : utf8ToByteString(r.body),
      clientIp: r.clientIp,
      country: r.country?.toUpperCase(),
      asn: r.asn,
      labels: r.labels,
      ja3: r.ja3,
      ja4: r.ja4,
      expect: expect ?? undefined,
      cve: r.cve,
      class: r.class ?? undefined,
      cwe: r.cwe,
      source: r.source ?? undefined,
      tags: r.tags,
    }),
  };
}

/** Parse one JSONL line (1-based `line`); `undefined` for a blank line. */
export function parseJsonlLine(
  text: string,
  file: string,
  line: number,
  opts: TestCaseOptions = {},
): ParseResult | undefined {
  if (text.trim() === '') return undefined;
  const json = parseJson(text);
  if ('error' in json) return { error: { file, line, message: json.error } };
  return testCaseToRequest(json.value, { file, line }, opts);
}

/**
 * Stream lines of a UTF-8 text file with their 1-based numbers (BOM removed, CRLF or LF), held to the
 * `input-bytes` limit while reading: the stream stops at the limit + 1 byte (an endless source, or
 * one endless line, costs no more), and the first line read past the limit throws.
 */
export async function* readLines(
  file: string,
  maxBytes = limitOf('input-bytes'),
): AsyncGenerator<{ text: string; line: number }> {
  const info = await assertReadableFile(file);
  if (info.isFile()) checkByteCount(info.size, { max: maxBytes, source: file });
  // `end` is inclusive: at most maxBytes + 1 bytes are read, enough to know the limit was passed.
  const stream = createReadStream(file, { encoding: 'utf8', end: maxBytes });
  const rl = createInterface({ input: stream, crlfDelay: Infinity });
  const over = () =>
    new InputLimitError('input-bytes', `more than ${formatBytes(maxBytes)} read`, {
      max: maxBytes,
      source: file,
    });
  let line = 0;
  try {
    for await (const text of rl) {
      if (stream.bytesRead > maxBytes) throw over();
      line++;
      yield { text: line === 1 ? stripBom(text) : text, line };
    }
    if (stream.bytesRead > maxBytes) throw over();
  } catch (err) {
    throw fileError(file, err);
  } finally {
    rl.close();
    stream.destroy();
  }
}

/** Parse a test-case JSONL file, streaming. */
export async function* parseJsonlFile(
  file: string,
  opts: TestCaseOptions & ReadOptions = {},
): AsyncGenerator<ParseResult> {
  for await (const { text, line } of readLines(file, opts.maxBytes)) {
    const result = parseJsonlLine(text, file, line, opts);
    if (result) yield result;
  }
}
