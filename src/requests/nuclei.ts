// nuclei templates (YAML) → concrete requests, without running nuclei and without sending anything.
//
// Reads the `http:` (and legacy `requests:`) entries, both forms:
//   * `raw:` blocks (a raw HTTP request per item; leading `@annotation` lines are ignored);
//   * `method` / `path` / `headers` / `body` (one request per `path` item).
// Placeholders get fixed, concrete values, the same way the shared corpus was built:
//   * `{{BaseURL}}` / `{{RootURL}}` → `http://target.example`; a request target that starts with it is
//     turned into origin form, so in the path they amount to '' (`{{BaseURL}}/a` → `/a`);
//   * `{{Hostname}}` / `{{Host}}` → `target.example`; `{{interactsh-url}}` → `INTERACTSH_HOST`;
//   * `{{randstr}}` and `rand_*()` → values from a PRNG seeded with the template id (stable output);
//   * the template's `variables:` and the helpers in nuclei-dsl.ts (base64, url_encode, to_lower, md5,
//     hex_decode, concat, repeat, padding, ...) are evaluated;
//   * literal `payloads:` lists are expanded (batteringram / pitchfork / clusterbomb), at most
//     `MAX_PAYLOAD_VARIANTS` variants per request, counting only the payloads the request uses.
// A request that still holds `{{` afterwards (values from an earlier response, payload files, helpers
// that need runtime data) is reported as an error, never guessed.
//
// As nuclei does, requests get `Host`, a `User-Agent` (Chrome 124) and `Accept: */*` when the template
// has none, and `Content-Length` is set to the body's byte length (`unsafe: true` raw requests are kept
// exactly as written). The template's CVE goes into `cve`, its first CWE into `cwe`, `info.tags` into
// `tags`; `expect` is 'block'. Ids are `<template id>#<n>`, n counting the template's requests from 1.

import type { Node as YamlNode } from 'yaml';
import { utf8ToByteString } from '../core/bytes.js';
import { yaml } from '../core/yaml.js';
import { readFileText, type ReadOptions } from './io.js';
import { isPlainObject } from './json-scan.js';
import {
  type Expectation,
  type HttpRequest,
  type ParseResult,
  asciiLower,
  buildRequest,
  hasHeader,
  setHeader,
  toOriginForm,
} from './model.js';
import { errorMessage } from '../core/errors.js';
import {
  type DslScope,
  type DslValue,
  DIGITS,
  LETTERS,
  resolvePlaceholders,
  Rng,
  Unresolved,
} from './nuclei-dsl.js';
import { rawToRequest, splitRawRequests } from './raw-http.js';

export const TARGET_HOST = 'target.example';
const TARGET_BASE_URL = `http://${TARGET_HOST}`;
/** Fixed stand-in for `{{interactsh-url}}`: a 33-character interactsh-style label under oast.fun. */
export const INTERACTSH_HOST = 'c0wafgen000000000000000000000oast.oast.fun';
export const DEFAULT_USER_AGENT =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36';
export const MAX_PAYLOAD_VARIANTS = 5;

export interface NucleiOptions {
  /** `expect` for every request; default 'block'. */
  expect?: Expectation;
}

/** The values nuclei derives from the target URL, for `http://target.example`. */
const BUILTINS: Record<string, string> = {
  baseurl: TARGET_BASE_URL,
  rooturl: TARGET_BASE_URL,
  hostname: TARGET_HOST,
  host: TARGET_HOST,
  fqdn: TARGET_HOST,
  rdn: TARGET_HOST,
  dn: 'target',
  tld: 'example',
  sd: '',
  port: '80',
  scheme: 'http',
  path: '',
  file: '',
  'interactsh-url': INTERACTSH_HOST,
};

/** Template-wide values: built-ins, `randstr*`, and lazily evaluated `variables:`. */
class TemplateScope implements DslScope {
  readonly rng: Rng;
  private readonly randstr = new Map<string, string>();
  private readonly cache = new Map<string, DslValue | Unresolved>();
  private readonly evaluating = new Set<string>();

  constructor(
    seed: string,
    readonly variables: Map<string, string>,
  ) {
    this.rng = new Rng(seed);
  }

  lookup(name: string): DslValue | undefined {
    if (this.variables.has(name)) return this.variable(name);
    const builtin = BUILTINS[asciiLower(name)];
    if (builtin !== undefined) return builtin;
    if (/^randstr(?:_\w+)?$/.test(name)) {
      let v = this.randstr.get(name);
      if (v === undefined) {
        v = this.rng.pick(LETTERS + DIGITS, 27);
        this.randstr.set(name, v);
      }
      return v;
    }
    return undefined;
  }

  private variable(name: string): DslValue {
    const cached = this.cache.get(name);
    if (cached instanceof Unresolved) throw cached;
    if (cached !== undefined) return cached;
    if (this.evaluating.has(name)) throw new Unresolved(`{{${name}}}`, 'variable refers to itself');
    this.evaluating.add(name);
    try {
      const resolved = resolvePlaceholders(this.variables.get(name)!, this);
      const value: DslValue | Unresolved = resolved.unresolved ?? resolved.text;
      this.cache.set(name, value);
      if (value instanceof Unresolved) throw value;
      return value;
    } finally {
      this.evaluating.delete(name);
    }
  }
}

/** One request's scope: the current payload values over the template scope. */
class VariantScope implements DslScope {
  constructor(
    private readonly template: TemplateScope,
    private readonly payload: Map<string, string>,
  ) {}
  get rng(): Rng {
    return this.template.rng;
  }
  lookup(name: string): DslValue | undefined {
    const p = this.payload.get(name);
    if (p === undefined) return this.template.lookup(name);
    if (!p.includes('{{')) return p;
    const resolved = resolvePlaceholders(p, this.template);
    if (resolved.unresolved) throw resolved.unresolved;
    return resolved.text;
  }
}

interface PayloadSet {
  name: string;
  values?: string[];
  /** A payload read from a file (a string in the template): not available offline. */
  file?: string;
}

function payloadSets(value: unknown): PayloadSet[] {
  if (!isPlainObject(value)) return [];
  const out: PayloadSet[] = [];
  for (const [name, v] of Object.entries(value)) {
    let list: unknown = v;
    if (isPlainObject(v)) list = v.default; // aggression levels: use the default list
    if (Array.isArray(list)) out.push({ name, values: list.map((x) => utf8ToByteString(String(x))) });
    else if (typeof list === 'string') out.push({ name, file: list });
    else if (typeof list === 'number' || typeof list === 'boolean')
      out.push({ name, values: [String(list)] });
  }
  return out;
}

/** Identifiers used inside `{{...}}` (and `§name§`) in `text`. */
function referencedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (let open = text.indexOf('{{'); open >= 0;) {
    const close = text.indexOf('}}', open + 2);
    if (close < 0) break;
    for (const id of text.slice(open + 2, close).matchAll(/[A-Za-z_][\w-]*/g)) names.add(id[0]);
    open = text.indexOf('{{', close + 2);
  }
  for (const m of text.matchAll(/\xc2\xa7([A-Za-z_][\w-]*)\xc2\xa7/g)) names.add(m[1]!);
  return names;
}

/** Payload combinations for a request, at most `MAX_PAYLOAD_VARIANTS`. */
function payloadVariants(sets: PayloadSet[], attack: string): Map<string, string>[] | { error: string } {
  if (sets.length === 0) return [new Map()];
  const fromFile = sets.find((s) => s.values === undefined);
  if (fromFile) {
    return {
      error: `payload "${fromFile.name}" is read from a file (${fromFile.file ?? '?'}), which is not supported`,
    };
  }
  const lists = sets.map((s) => s.values!);
  const out: Map<string, string>[] = [];
  if (attack === 'clusterbomb') {
    const idx = lists.map(() => 0);
    if (lists.some((l) => l.length === 0)) return out;
    while (out.length < MAX_PAYLOAD_VARIANTS) {
      out.push(new Map(sets.map((s, k) => [s.name, lists[k]![idx[k]!]!])));
      // Odometer: the last set varies fastest.
      let k = idx.length - 1;
      while (k >= 0 && ++idx[k]! >= lists[k]!.length) idx[k--] = 0;
      if (k < 0) break;
    }
    return out;
  }
  // batteringram (one set) and pitchfork (sets in step); batteringram with several sets is treated
  // like pitchfork (nuclei itself rejects it).
  const n = Math.min(MAX_PAYLOAD_VARIANTS, ...lists.map((l) => l.length));
  for (let i = 0; i < n; i++) out.push(new Map(sets.map((s, k) => [s.name, lists[k]![i]!])));
  return out;
}

/** First `{{...}}` left in `text`, for the error message. */
function leftoverPlaceholder(text: string): string | undefined {
  const at = text.indexOf('{{');
  if (at < 0) return undefined;
  const close = text.indexOf('}}', at);
  const end = close >= 0 && close - at < 80 ? close + 2 : Math.min(text.length, at + 40);
  return text.slice(at, end).replace(/[\r\n]+/g, ' ');
}

/** Add what nuclei adds to a request and set Content-Length to the body's byte length. */
function finishHeaders(headers: [string, string][], body: string | undefined): [string, string][] {
  const out = headers.filter(([n]) => asciiLower(n) !== 'content-length');
  if (!hasHeader({ headers: out }, 'host')) out.unshift(['Host', TARGET_HOST]);
  if (!hasHeader({ headers: out }, 'user-agent')) {
    const host = out.findIndex(([n]) => asciiLower(n) === 'host');
    out.splice(host + 1, 0, ['User-Agent', DEFAULT_USER_AGENT]);
  }
  if (!hasHeader({ headers: out }, 'accept')) out.push(['Accept', '*/*']);
  if (body !== undefined) out.push(['Content-Length', String(body.length)]);
  return out;
}

function firstId(value: unknown): string | undefined {
  const first = Array.isArray(value) ? value.find((v) => typeof v === 'string') : value;
  if (typeof first !== 'string') return undefined;
  return first.split(/[,\s]+/).find((s) => s !== '');
}

interface TemplateMeta {
  id: string;
  cve: string | null;
  cwe: string | null;
  tags?: string[];
  source: string;
  expect: Expectation;
}

function templateMeta(tpl: Record<string, unknown>, file: string, opts: NucleiOptions): TemplateMeta {
  const id = typeof tpl.id === 'string' && tpl.id.trim() !== '' ? tpl.id.trim() : file;
  const info = isPlainObject(tpl.info) ? tpl.info : {};
  const cls = isPlainObject(info.classification) ? info.classification : {};
  const cveRaw = firstId(cls['cve-id']) ?? id;
  const cwe = firstId(cls['cwe-id']);
  const tags =
    typeof info.tags === 'string'
      ? info.tags.split(',')
      : Array.isArray(info.tags)
        ? info.tags.filter((t): t is string => typeof t === 'string')
        : [];
  const cleanTags = tags.map((t) => t.trim()).filter((t) => t !== '');
  const meta: TemplateMeta = {
    id,
    cve: /^CVE-\d{4}-\d{4,}$/i.test(cveRaw) ? cveRaw.toUpperCase() : null,
    cwe: cwe && /^CWE-\d+$/i.test(cwe) ? cwe.toUpperCase() : null,
    source: file,
    expect: opts.expect ?? 'block',
  };
  if (cleanTags.length) meta.tags = cleanTags;
  return meta;
}

/** Parse the text of one nuclei template. */
export function* parseNucleiTemplate(
  text: string,
  file: string,
  opts: NucleiOptions = {},
): Generator<ParseResult> {
  const { isScalar, LineCounter, parseDocument } = yaml();
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: false });
  const yamlError = doc.errors[0];
  if (yamlError) {
    const line = yamlError.linePos?.[0]?.line ?? 1;
    yield { error: { file, line, message: `invalid YAML: ${errorMessage(yamlError).split(' at line')[0]}` } };
    return;
  }
  let tpl: unknown;
  try {
    tpl = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    yield { error: { file, line: 1, message: `invalid YAML: ${errorMessage(err)}` } };
    return;
  }
  if (!isPlainObject(tpl)) {
    yield { error: { file, line: 1, message: 'not a nuclei template (expected a YAML mapping)' } };
    return;
  }

  const lineOf = (path: (string | number)[]): number => {
    const node = doc.getIn(path, true) as YamlNode | undefined;
    const start = node?.range?.[0];
    if (start === undefined) return 1;
    const line = lineCounter.linePos(start).line;
    // A block scalar (`- |`) starts on the indicator's line; its text starts on the next one.
    return isScalar(node) && (node.type === 'BLOCK_LITERAL' || node.type === 'BLOCK_FOLDED')
      ? line + 1
      : line;
  };

  const meta = templateMeta(tpl, file, opts);
  const variables = new Map<string, string>();
  if (isPlainObject(tpl.variables)) {
    for (const [k, v] of Object.entries(tpl.variables)) {
      if (v !== null && typeof v !== 'object') variables.set(k, utf8ToByteString(String(v)));
    }
  }
  const scope = new TemplateScope(meta.id, variables);

  const sections: { key: string; entries: unknown[] }[] = [];
  for (const key of ['http', 'requests']) {
    const v = tpl[key];
    if (Array.isArray(v)) sections.push({ key, entries: v });
  }
  if (sections.length === 0) {
    yield { error: { file, line: 1, message: 'no http: (or requests:) section in the nuclei template' } };
    return;
  }

  let n = 0;
  const emit = (req: Omit<HttpRequest, 'id'>): ParseResult => {
    n++;
    return { request: { id: `${meta.id}#${n}`, ...req } };
  };

  for (const { key, entries } of sections) {
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i];
      const entryLine = lineOf([key, i]);
      if (!isPlainObject(entry)) {
        yield { error: { file, line: entryLine, message: `${key}[${i}] is not a mapping` } };
        continue;
      }
      const sets = payloadSets(entry.payloads);
      const attack = typeof entry.attack === 'string' ? entry.attack.toLowerCase() : 'batteringram';
      const unsafe = entry.unsafe === true;

      const variantsFor = (requestText: string): Map<string, string>[] | { error: string } => {
        // The payloads this request uses, directly or through the variables it uses.
        const used = referencedNames(requestText);
        for (let grew = true; grew;) {
          grew = false;
          for (const name of [...used]) {
            const def = variables.get(name);
            if (def === undefined) continue;
            for (const inner of referencedNames(def)) {
              if (!used.has(inner)) {
                used.add(inner);
                grew = true;
              }
            }
          }
        }
        return payloadVariants(
          sets.filter((s) => used.has(s.name)),
          attack,
        );
      };

      const raws =
        typeof entry.raw === 'string' ? [entry.raw] : Array.isArray(entry.raw) ? entry.raw : undefined;
      const paths =
        typeof entry.path === 'string' ? [entry.path] : Array.isArray(entry.path) ? entry.path : undefined;

      if (raws) {
        for (let j = 0; j < raws.length; j++) {
          const line = lineOf([key, i, 'raw', j]);
          const rawText = raws[j];
          if (typeof rawText !== 'string') {
            yield { error: { file, line, message: `${key}[${i}].raw[${j}] is not a string` } };
            continue;
          }
          const text = utf8ToByteString(rawText);
          const variants = variantsFor(text);
          if (!Array.isArray(variants)) {
            yield { error: { file, line, message: variants.error } };
            continue;
          }
          for (const payload of variants) {
            const result = rawRequest(text, new VariantScope(scope, payload), { file, line, unsafe, meta });
            yield 'error' in result ? result : emit(result.request);
          }
        }
      } else if (paths) {
        const method = typeof entry.method === 'string' && entry.method !== '' ? entry.method : 'GET';
        const headerMap = isPlainObject(entry.headers) ? entry.headers : {};
        const headers: [string, string][] = Object.entries(headerMap).map(([k, v]) => [
          utf8ToByteString(k),
          utf8ToByteString(v === null || v === undefined ? '' : String(v)),
        ]);
        const body =
          entry.body === undefined || entry.body === null ? undefined : utf8ToByteString(String(entry.body));
        for (let j = 0; j < paths.length; j++) {
          const line = lineOf([key, i, 'path', j]);
          const pathText = paths[j];
          if (typeof pathText !== 'string') {
            yield { error: { file, line, message: `${key}[${i}].path[${j}] is not a string` } };
            continue;
          }
          const path = utf8ToByteString(pathText);
          const all = [path, ...headers.flat(), body ?? ''].join('\n');
          const variants = variantsFor(all);
          if (!Array.isArray(variants)) {
            yield { error: { file, line, message: variants.error } };
            continue;
          }
          for (const payload of variants) {
            const result = pathRequest({ method, path, headers, body }, new VariantScope(scope, payload), {
              file,
              line,
              meta,
            });
            yield 'error' in result ? result : emit(result.request);
          }
        }
      } else {
        yield {
          error: {
            file,
            line: entryLine,
            message: `${key}[${i}] has neither raw: nor path: (fuzzing and other request kinds are not supported)`,
          },
        };
      }
    }
  }
}

interface RequestContext {
  file: string;
  line: number;
  meta: TemplateMeta;
}

function withMeta(req: HttpRequest, meta: TemplateMeta): Omit<HttpRequest, 'id'> {
  const { id: _id, ...rest } = req;
  const out: Omit<HttpRequest, 'id'> = {
    ...rest,
    expect: meta.expect,
    cve: meta.cve,
    cwe: meta.cwe,
    source: meta.source,
  };
  if (meta.tags) out.tags = meta.tags;
  return out;
}

type Built =
  { request: Omit<HttpRequest, 'id'> } | { error: { file: string; line: number; message: string } };

function rawRequest(text: string, scope: DslScope, ctx: RequestContext & { unsafe: boolean }): Built {
  const { file, line } = ctx;
  // Drop the `@timeout: 10s` / `@Host: ...` annotations and blank lines before the request line.
  let skipped = 0;
  let start = 0;
  for (;;) {
    const nl = text.indexOf('\n', start);
    const first = text.slice(start, nl < 0 ? text.length : nl).trim();
    if (nl < 0 || (first !== '' && !first.startsWith('@'))) break;
    start = nl + 1;
    skipped++;
  }
  const resolved = resolvePlaceholders(text.slice(start), scope);
  if (resolved.unresolved) return { error: { file, line, message: resolved.unresolved.message } };
  const left = leftoverPlaceholder(resolved.text);
  if (left) return { error: { file, line, message: `unresolved placeholder ${left}` } };
  const parsed = splitRawRequests(resolved.text, { single: true, verbatimBody: ctx.unsafe }).next().value;
  if (!parsed) return { error: { file, line, message: 'empty raw request' } };
  if ('error' in parsed)
    return { error: { file, line: line + skipped + parsed.error.line - 1, message: parsed.error.message } };
  const req = rawToRequest(parsed.raw, { id: '' });
  if (!ctx.unsafe) req.headers = finishHeaders(req.headers, req.body);
  return { request: withMeta(req, ctx.meta) };
}

function pathRequest(
  tpl: { method: string; path: string; headers: [string, string][]; body: string | undefined },
  scope: DslScope,
  ctx: RequestContext,
): Built {
  const { file, line } = ctx;
  const parts = [tpl.path, ...tpl.headers.flat(), tpl.body ?? ''].map((t) => resolvePlaceholders(t, scope));
  const unresolved = parts.find((p) => p.unresolved)?.unresolved;
  if (unresolved) return { error: { file, line, message: unresolved.message } };
  const values = parts.map((p) => p.text);
  for (const v of values) {
    const left = leftoverPlaceholder(v);
    if (left) return { error: { file, line, message: `unresolved placeholder ${left}` } };
  }
  const target = toOriginForm(values[0]!);
  let uri = target.uri;
  if (uri === '') uri = '/';
  else if (uri.startsWith('?')) uri = '/' + uri;
  if (/[\r\n]/.test(uri)) return { error: { file, line, message: 'request path contains a line break' } };
  const headers: [string, string][] = [['Host', target.host ?? TARGET_HOST]];
  for (let k = 0; k < tpl.headers.length; k++) {
    const name = values[1 + 2 * k]!;
    const value = values[2 + 2 * k]!;
    if (asciiLower(name) === 'host') setHeader(headers, 'Host', value);
    else headers.push([name, value]);
  }
  const resolvedBody = values[values.length - 1]!;
  const body = tpl.body === undefined || resolvedBody === '' ? undefined : resolvedBody;
  const req = buildRequest({ id: '', method: tpl.method, uri, headers: finishHeaders(headers, body), body });
  return { request: withMeta(req, ctx.meta) };
}

/** Parse a nuclei template file. */
export async function* parseNucleiFile(
  file: string,
  opts: NucleiOptions & ReadOptions = {},
): AsyncGenerator<ParseResult> {
  const text = await readFileText(file, opts.maxBytes);
  yield* parseNucleiTemplate(text, file, opts);
}
