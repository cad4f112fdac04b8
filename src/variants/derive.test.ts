// deriveVariants: ids, tags, determinism, the cap, no duplicates, and the whole exploit corpus.

import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { sharedPath } from '../../test/support/shared.js';
import { parseJsonlFile } from '../requests/jsonl.js';
import { type HttpRequest, asciiLower, buildRequest, headerValues, splitTarget } from '../requests/model.js';
import { DEFAULT_MAX_VARIANTS, deriveVariants, TECHNIQUES, VARIANT_TECHNIQUES } from './index.js';
import { bodyKind, messageKey, paramsOf } from './parts.js';
import { urlDecode } from '../evaluator/transforms/url-decode.js';
import { urlDecodeUni } from '../evaluator/transforms/url-decode-uni.js';

const sample = buildRequest({
  id: 'CVE-0000-0001#1',
  method: 'POST',
  uri: '/app/../search.php?q=1%20union%20select%20user,password%20from%20users--%20-&page=2&lang=en',
  headers: [
    ['Host', 't.example'],
    ['User-Agent', 'Mozilla/5.0'],
    ['Content-Type', 'application/x-www-form-urlencoded'],
    ['Content-Length', '13'],
  ],
  body: 'sort=name&x=1',
  expect: 'block',
  cve: 'CVE-0000-0001',
  class: 'sqli',
  cwe: 'CWE-89',
  source: 'hand-written',
  tags: ['kev'],
});

describe('VARIANT_TECHNIQUES', () => {
  it('lists every technique once, with a one-line description, one file each', () => {
    const names = VARIANT_TECHNIQUES.map((t) => t.name);
    expect(names).toEqual([
      'url-encode',
      'double-url-encode',
      'unicode-encode',
      'mixed-case',
      'sql-comment',
      'sql-whitespace',
      'path-tricks',
      'header-case',
      'param-order',
      'move-payload',
      'html-entity',
      'whitespace',
    ]);
    for (const t of VARIANT_TECHNIQUES) expect(t.description).toMatch(/^[^\n]{10,120}$/);
    const dir = fileURLToPath(new URL('./techniques/', import.meta.url));
    const files = readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
    expect(files.map((f) => f.replace(/\.ts$/, '')).sort()).toEqual([...names].sort());
  });
});

describe('deriveVariants', () => {
  const variants = deriveVariants(sample);

  it('copies everything but the message, and sets ids and tags', () => {
    expect(variants.length).toBeGreaterThanOrEqual(10);
    for (const v of variants) {
      const technique = v.tags!.find((t) => t.startsWith('technique:'))!.slice('technique:'.length);
      expect(v.id).toMatch(new RegExp(`^CVE-0000-0001#1~${technique}(-\\d+)?$`));
      expect(v).toMatchObject({
        expect: 'block',
        cve: 'CVE-0000-0001',
        class: 'sqli',
        cwe: 'CWE-89',
        source: 'hand-written',
      });
      expect(v.tags!.slice(0, 3)).toEqual(['kev', 'variant', `technique:${technique}`]);
      expect({ path: v.path, query: v.query }).toEqual(splitTarget(v.uri));
    }
    expect(sample.tags).toEqual(['kev']); // the original is not modified
  });

  it('numbers the variants of a technique that makes several', () => {
    const ids = variants.map((v) => v.id);
    expect(ids).toContain('CVE-0000-0001#1~url-encode-1');
    expect(ids).toContain('CVE-0000-0001#1~url-encode-2');
    expect(ids).toContain('CVE-0000-0001#1~sql-comment');
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('is deterministic', () => {
    expect(deriveVariants(sample)).toEqual(variants);
    expect(deriveVariants(structuredClone(sample))).toEqual(variants);
  });

  it('never yields the original or the same message twice', () => {
    const keys = variants.map(messageKey);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys).not.toContain(messageKey(sample));
  });

  it('caps at max (default 24), round-robin over techniques, ids independent of the cap', () => {
    const many = deriveVariants(sample, { max: 1000 });
    expect(many.length).toBeGreaterThan(20);
    expect(variants).toHaveLength(Math.min(DEFAULT_MAX_VARIANTS, many.length));
    const ten = deriveVariants(sample, { max: 10 });
    expect(ten).toEqual(many.slice(0, 10));
    const three = deriveVariants(sample, { max: 3 });
    expect(three.map((v) => v.id)).toEqual([
      'CVE-0000-0001#1~url-encode-1',
      'CVE-0000-0001#1~double-url-encode-1',
      'CVE-0000-0001#1~unicode-encode-1',
    ]);
    const byId = new Map(many.map((v) => [v.id, v]));
    for (const v of variants) expect(byId.get(v.id)).toEqual(v);
    // each round takes at most one variant per technique
    const techniqueOf = (v: HttpRequest) => v.tags!.find((t) => t.startsWith('technique:'))!;
    const used = new Set(many.map(techniqueOf)).size;
    expect(used).toBeLessThanOrEqual(TECHNIQUES.length);
    expect(new Set(many.slice(0, used).map(techniqueOf)).size).toBe(used);
    expect(deriveVariants(sample, { max: 0 })).toEqual([]);
    expect(() => deriveVariants(sample, { max: -1 })).toThrow(/max/);
  });

  it('runs only the techniques asked for, and rejects unknown names', () => {
    const vs = deriveVariants(sample, { techniques: ['header-case', 'param-order'] });
    expect(vs.map((v) => v.id)).toEqual([
      'CVE-0000-0001#1~header-case-1',
      'CVE-0000-0001#1~param-order-1',
      'CVE-0000-0001#1~header-case-2',
      'CVE-0000-0001#1~param-order-2',
    ]);
    expect(() => deriveVariants(sample, { techniques: ['rot13'] })).toThrow(
      /unknown variant technique: rot13/,
    );
  });

  it('keeps Content-Length equal to the body length whenever the body changes', () => {
    const post = buildRequest({
      id: 'p',
      method: 'POST',
      uri: '/login',
      headers: [
        ['Host', 't.example'],
        ['Content-Type', 'application/x-www-form-urlencoded'],
        ['Content-Length', '31'],
      ],
      body: "user=a'%20or%201=1--%20-&pass=x",
      class: 'sqli',
    });
    const vs = deriveVariants(post, { max: 100 });
    expect(vs.some((v) => v.body !== post.body && v.body !== undefined)).toBe(true);
    expect(vs.some((v) => v.body === undefined)).toBe(true);
    for (const v of vs) checkFraming(v);
  });
});

type Decode = (s: string, plus: boolean) => string;
const once: Decode = (s, plus) => urlDecode(plus ? s : s.replace(/\+/g, '%2B'));
const uni: Decode = (s, plus) => urlDecodeUni(plus ? s : s.replace(/\+/g, '%2B'));

/** What a server sees: path segments decoded once (no `+` rule), query and form parameters decoded once. */
function serverView(r: HttpRequest, url: Decode, form: Decode) {
  const params = (s: string, d: Decode) => paramsOf(s).map((p) => [d(p.name, true), d(p.value, true)]);
  return {
    method: r.method,
    path: r.path.split('/').map((s) => url(s, false)),
    query: params(r.query, url),
    body: bodyKind(r) === 'form' ? params(r.body!, form) : r.body,
    headers: r.headers.filter(([n]) => asciiLower(n) !== 'content-length'),
  };
}

/** Message invariants every variant keeps. */
function checkFraming(v: HttpRequest) {
  const cl = headerValues(v, 'content-length');
  if (v.body === undefined) {
    expect(cl).toEqual([]);
  } else if (cl.length) {
    expect(cl).toEqual([String(v.body.length)]);
  }
  expect(v.uri).not.toMatch(/[\r\n ]/);
  for (const [n, value] of v.headers) {
    expect(n).toMatch(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/);
    expect(value).not.toMatch(/[\r\n]/);
  }
  expect(v.uri).toMatch(/^[\x21-\x7e]*$/);
}

describe('the exploit corpus (../shared/corpus/exploits.dev.jsonl)', () => {
  const file = sharedPath('corpus', 'exploits.dev.jsonl');

  it.skipIf(!file)('gives every request at least 3 valid variants', async () => {
    const requests: HttpRequest[] = [];
    for await (const r of parseJsonlFile(file!)) {
      if ('error' in r) throw new Error(r.error.message);
      requests.push(r.request);
    }
    expect(requests.length).toBeGreaterThan(100);
    const all = requests.map((r) => [r, deriveVariants(r)] as const);

    const counts = all.map(([, vs]) => vs.length).sort((a, b) => a - b);
    expect(counts[0]).toBeGreaterThanOrEqual(3);
    expect(counts.at(-1)).toBeLessThanOrEqual(DEFAULT_MAX_VARIANTS);

    const ids = new Set<string>();
    for (const [r, vs] of all) {
      const keys = new Set([messageKey(r)]);
      for (const v of vs) {
        expect(ids.has(v.id)).toBe(false);
        ids.add(v.id);
        expect(v.id.startsWith(`${r.id}~`)).toBe(true);
        expect(v.expect).toBe(r.expect);
        expect(v.tags).toContain('variant');
        expect(keys.has(messageKey(v))).toBe(false);
        keys.add(messageKey(v));
        checkFraming(v);
        // a body the technique did not rewrite keeps its framing headers as they were
        if (v.body === r.body) {
          expect(headerValues(v, 'content-length')).toEqual(headerValues(r, 'content-length'));
        }
        expect(v.headers.every(([n]) => asciiLower(n) !== 'transfer-encoding')).toBe(true);
      }
    }
    // the encoding techniques decode back to what the server saw in the original
    // (double-url-encode decodes twice in path and query only; it never touches a form body)
    const decoders: Record<string, [Decode, Decode]> = {
      'url-encode': [once, once],
      'double-url-encode': [(x, plus) => once(once(x, plus), plus), once],
      'unicode-encode': [uni, uni],
    };
    let checked = 0;
    for (const [r] of all) {
      for (const v of deriveVariants(r, { techniques: Object.keys(decoders), max: 100 })) {
        const technique = v.tags!.find((t) => t.startsWith('technique:'))!.slice('technique:'.length);
        const [url, form] = decoders[technique]!;
        expect(serverView(v, url, form), v.id).toEqual(serverView(r, once, once));
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(200);
    // deterministic over the whole corpus
    expect(requests.map((r) => deriveVariants(r))).toEqual(all.map(([, vs]) => vs));
  });
});
