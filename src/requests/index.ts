// Public face of the request model and its parsers: load any supported file into `HttpRequest`s.
//
// Formats and how a file's format is found (extension first, then content):
//   jsonl    `.jsonl` / `.ndjson`: the test-case format (or WAF log lines, if the first line is one)
//   json     `.json`: one JSON document: HAR (`log.entries`), WAF log records (array, `{events}`, one
//            record) or test cases (array or one object); JSON lines in a `.json` file also work
//   har      `.har`
//   nuclei   `.yaml` / `.yml`
//   waf-log  AWS WAF log lines: JSON lines, CloudWatch export lines (`<timestamp> <json>`)
//   raw      anything else: raw HTTP/1.x requests
//
// Each entry yields `{ request }` or `{ error: { file, line, message } }`, so one bad entry never loses
// the others. A file that cannot be read at all throws a `RequestFileError` (one-line message).

import { open } from 'node:fs/promises';
import { extname } from 'node:path';
import { harDocument, looksLikeHar, parseHarFile } from './har.js';
import { InputLimitError, limitOf } from '../core/limits.js';
import { assertReadableFile, fileError, LineIndex, readFileText, stripBom, type ReadOptions } from './io.js';
import { arrayElementOffsets, isPlainObject, parseJson } from './json-scan.js';
import { parseJsonlFile, parseJsonlLine, testCaseToRequest } from './jsonl.js';
import type { Expectation, HttpRequest, ParseError, ParseResult } from './model.js';
import { parseNucleiFile } from './nuclei.js';
import { parseRawHttpFile } from './raw-http.js';
import { looksLikeWafLog, parseWafLogFile, parseWafLogLine, wafLogDocument } from './waf-log.js';

export * from './model.js';
export { RequestFileError } from './io.js';
import type { RequestFormat } from './formats.js';
export { type RequestFormat } from './formats.js';

export interface LoadOptions extends ReadOptions {
  /** Most entries (requests and unreadable entries) one file may give: the `request-entries` limit. */
  maxEntries?: number;
  /** Skip detection and read the file as this format. */
  format?: RequestFormat;
  /**
   * `expect` for requests whose input does not set one. Without it: nuclei 'block', HAR 'allow',
   * raw HTTP and WAF logs unset, test cases as written.
   */
  expect?: Expectation;
}

const HEAD_BYTES = 64 * 1024;

async function readHead(file: string): Promise<string> {
  let handle;
  try {
    handle = await open(file, 'r');
    const buf = Buffer.alloc(HEAD_BYTES);
    const { bytesRead } = await handle.read(buf, 0, HEAD_BYTES, 0);
    return stripBom(buf.subarray(0, bytesRead).toString('utf8'));
  } catch (err) {
    throw fileError(file, err);
  } finally {
    await handle?.close();
  }
}

function firstLine(text: string): string {
  const nl = text.indexOf('\n');
  return (nl < 0 ? text : text.slice(0, nl)).trim();
}

/** Format of text that starts with `{` or `[`. */
function sniffJson(head: string): RequestFormat {
  if (head.startsWith('[')) return 'json';
  const json = parseJson(firstLine(head));
  if ('error' in json) return 'json'; // a pretty-printed document (or a first line longer than the head)
  if (looksLikeHar(json.value)) return 'har';
  if (looksLikeWafLog(json.value)) return 'waf-log';
  return 'jsonl';
}

/** Decide a file's format: by extension, then by its first bytes. */
export async function detectFormat(file: string): Promise<RequestFormat> {
  const ext = extname(file).toLowerCase();
  if (ext === '.yaml' || ext === '.yml') return 'nuclei';
  if (ext === '.har') return 'har';
  const head = (await readHead(file)).trimStart();
  if (ext === '.jsonl' || ext === '.ndjson') {
    const line = firstLine(head);
    if (line.includes('"httpRequest"')) {
      const json = parseJson(line);
      if (!('value' in json) || looksLikeWafLog(json.value)) return 'waf-log';
    }
    return 'jsonl';
  }
  if (ext === '.json' || head.startsWith('{') || head.startsWith('[')) return sniffJson(head);
  // CloudWatch Logs export: `2024-05-01T10:00:00.000Z {"timestamp":...,"httpRequest":{...}}`.
  const line = firstLine(head);
  if (/^\S+(?:\s+\S+)?\s+\{/.test(line) && line.includes('"httpRequest"')) return 'waf-log';
  if (/^id\s*:/m.test(head) && /^(?:http|requests)\s*:/m.test(head)) return 'nuclei';
  return 'raw';
}

/** A file holding one JSON document (or, failing that, JSON lines). */
async function* parseJsonDocumentFile(file: string, opts: LoadOptions): AsyncGenerator<ParseResult> {
  const text = await readFileText(file, opts.maxBytes);
  const lines = new LineIndex(text);
  const json = parseJson(text);
  if ('error' in json) {
    // Not one document: JSON lines (test cases or WAF log records) saved as .json?
    const rows = text.split('\n');
    const first = rows.find((r) => r.trim() !== '')?.trim() ?? '';
    if (
      rows.filter((r) => r.trim() !== '').length > 1 &&
      first.startsWith('{') &&
      'value' in parseJson(first)
    ) {
      const waf = looksLikeWafLog((parseJson(first) as { value: unknown }).value);
      for (let i = 0; i < rows.length; i++) {
        const row = rows[i]!.replace(/\r$/, '');
        if (waf) yield* parseWafLogLine(row, file, i + 1, opts);
        else {
          const result = parseJsonlLine(row, file, i + 1, opts);
          if (result) yield result;
        }
      }
      return;
    }
    yield {
      error: { file, line: json.offset === undefined ? 1 : lines.lineAt(json.offset), message: json.error },
    };
    return;
  }
  const value = json.value;
  const at = (path: string[]) => {
    const offsets = arrayElementOffsets(text, path);
    return (i: number) => lines.lineAt(offsets[i] ?? 0);
  };
  if (looksLikeHar(value)) {
    yield* harDocument(value, file, at(['log', 'entries']), opts);
  } else if (looksLikeWafLog(value)) {
    yield* wafLogDocument(value, file, at(isPlainObject(value) ? ['events'] : []), opts);
  } else if (Array.isArray(value)) {
    const lineOf = at([]);
    for (let i = 0; i < value.length; i++) yield testCaseToRequest(value[i], { file, line: lineOf(i) }, opts);
  } else {
    yield testCaseToRequest(value, { file, line: 1 }, opts);
  }
}

/**
 * Load the requests in `file` as an async iterable of results. Detection (or `opts.format`) picks the
 * parser; JSON lines are streamed. Iterating throws `RequestFileError` if the file cannot be read,
 * and an InputLimitError when it is over the `input-bytes` or `request-entries` limit.
 */
export async function* loadRequests(file: string, opts: LoadOptions = {}): AsyncGenerator<ParseResult> {
  const max = opts.maxEntries ?? limitOf('request-entries');
  let entries = 0;
  for await (const result of parseRequestFile(file, opts)) {
    if (++entries > max)
      throw new InputLimitError('request-entries', `more than ${max} entries`, { max, source: file });
    yield result;
  }
}

async function* parseRequestFile(file: string, opts: LoadOptions): AsyncGenerator<ParseResult> {
  await assertReadableFile(file);
  const format = opts.format ?? (await detectFormat(file));
  switch (format) {
    case 'jsonl':
      yield* parseJsonlFile(file, opts);
      return;
    case 'json':
      yield* parseJsonDocumentFile(file, opts);
      return;
    case 'har':
      yield* parseHarFile(file, opts);
      return;
    case 'nuclei':
      yield* parseNucleiFile(file, opts);
      return;
    case 'waf-log':
      yield* parseWafLogOrDocument(file, opts);
      return;
    case 'raw':
      yield* parseRawHttpFile(file, opts);
      return;
  }
}

/** WAF logs: lines, unless the file is one pretty-printed JSON document. */
async function* parseWafLogOrDocument(file: string, opts: LoadOptions): AsyncGenerator<ParseResult> {
  const head = (await readHead(file)).trimStart();
  if (head.startsWith('[') || (head.startsWith('{') && !('value' in parseJson(firstLine(head))))) {
    yield* parseJsonDocumentFile(file, opts);
  } else {
    yield* parseWafLogFile(file, opts);
  }
}

/** Load every file; requests and per-entry errors in file order. Throws `RequestFileError` for an unreadable file. */
export async function readAllRequests(
  files: string | readonly string[],
  opts: LoadOptions = {},
): Promise<{ requests: HttpRequest[]; errors: ParseError[] }> {
  const requests: HttpRequest[] = [];
  const errors: ParseError[] = [];
  for (const file of typeof files === 'string' ? [files] : files) {
    for await (const result of loadRequests(file, opts)) {
      if ('request' in result) requests.push(result.request);
      else errors.push(result.error);
    }
  }
  return { requests, errors };
}
