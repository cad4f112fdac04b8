// url-encode, double-url-encode, unicode-encode: exact shapes, and the server (or AWS URL_DECODE_UNI)
// decoding the variant back to what it decoded the original to.

import { describe, expect, it } from 'vitest';
import { type HttpRequest, type RequestInit, buildRequest } from '../requests/model.js';
import { urlDecode } from '../evaluator/transforms/url-decode.js';
import { urlDecodeUni } from '../evaluator/transforms/url-decode-uni.js';
import { deriveVariants } from './index.js';
import { bodyKind, paramsOf } from './parts.js';

const HEADERS: [string, string][] = [
  ['Host', 't.example'],
  ['Accept', '*/*'],
];

function req(init: Partial<RequestInit> & { uri: string }): HttpRequest {
  return buildRequest({ id: 'r', method: 'GET', headers: HEADERS, expect: 'block', ...init });
}

function only(r: HttpRequest, technique: string): HttpRequest[] {
  return deriveVariants(r, { techniques: [technique] });
}

/** What a server sees: path segments decoded once (no `+` rule), query and form parameters decoded once. */
function serverView(r: HttpRequest, decode: (s: string, plus: boolean) => string) {
  return {
    path: r.path.split('/').map((s) => decode(s, false)),
    query: paramsOf(r.query).map((p) => [decode(p.name, true), decode(p.value, true)]),
    form:
      bodyKind(r) === 'form'
        ? paramsOf(r.body!).map((p) => [decode(p.name, true), decode(p.value, true)])
        : r.body,
  };
}
const once = (s: string, plus: boolean) => urlDecode(plus ? s : s.replace(/\+/g, '%2B'));
const twice = (s: string, plus: boolean) => once(once(s, plus), plus);
const uni = (s: string, plus: boolean) => urlDecodeUni(plus ? s : s.replace(/\+/g, '%2B'));

describe('url-encode', () => {
  const original = req({ uri: '/shop/item.php?q=%3Cscript%3E&x=a+b&flag' });

  it('encodes non-alphanumerics, then every byte, in path segments and query names and values', () => {
    const [a, b] = only(original, 'url-encode');
    expect(a!.uri).toBe('/shop/item%2Ephp?q=%3Cscript%3E&x=a%20b&flag');
    expect(b!.uri).toBe(
      '/%73%68%6F%70/%69%74%65%6D%2E%70%68%70?%71=%3C%73%63%72%69%70%74%3E&%78=%61%20%62&%66%6C%61%67',
    );
    for (const v of [a!, b!]) expect(serverView(v, once)).toEqual(serverView(original, once));
  });

  it('encodes form names and values and fixes Content-Length', () => {
    const post = req({
      method: 'POST',
      uri: '/login',
      headers: [...HEADERS, ['Content-Type', 'application/x-www-form-urlencoded'], ['Content-Length', '24']],
      body: "user=admin'--&pw=a+b%21",
    });
    const [a] = only(post, 'url-encode');
    expect(a!.body).toBe('user=admin%27%2D%2D&pw=a%20b%21');
    expect(a!.headers.at(-1)).toEqual(['Content-Length', String(a!.body!.length)]);
    expect(serverView(a!, once)).toEqual(serverView(post, once));
  });

  it('decodes what is already encoded first (no accidental double encoding), keeps a raw ; in the path', () => {
    const r = req({ uri: '/app/..;/%2e%2e/admin?f=%2e%2e%2Fx' });
    const [a] = only(r, 'url-encode');
    expect(a!.uri).toBe('/app/%2E%2E;/%2E%2E/admin?f=%2E%2E%2Fx');
    expect(serverView(a!, once)).toEqual(serverView(r, once));
  });

  it('leaves headers and non-form bodies alone', () => {
    const r = req({
      method: 'POST',
      uri: '/x',
      headers: [...HEADERS, ['Content-Type', 'application/xml']],
      body: '<a b="c d"/>',
    });
    for (const v of only(r, 'url-encode')) {
      expect(v.body).toBe(r.body);
      expect(v.headers).toEqual(r.headers);
    }
  });
});

describe('double-url-encode', () => {
  const original = req({ uri: '/a.b/c?x=../etc&y=1' });

  it('encodes % as %25 over the url-encode form: the query, then the path', () => {
    const [q, p] = only(original, 'double-url-encode');
    expect(q!.uri).toBe('/a.b/c?x=%252E%252E%252Fetc&y=1');
    expect(p!.uri).toBe('/a%252Eb/c?x=../etc&y=1');
    expect(serverView(q!, twice).query).toEqual(serverView(original, once).query);
    expect(serverView(p!, twice).path).toEqual(serverView(original, once).path);
  });

  it('never touches a form body', () => {
    const post = req({
      method: 'POST',
      uri: '/x',
      headers: [...HEADERS, ['Content-Type', 'application/x-www-form-urlencoded']],
      body: 'a=%27',
    });
    expect(only(post, 'double-url-encode')).toEqual([]);
  });
});

describe('unicode-encode', () => {
  const original = req({ uri: '/files/get?f=../a+b&n=caf%C3%A9' });

  it('writes %u00XX, then full-width %uFFXX, for non-alphanumeric ASCII', () => {
    const [u, fw] = only(original, 'unicode-encode');
    expect(u!.uri).toBe('/files/get?f=%u002E%u002E%u002Fa%u0020b&n=caf%C3%A9');
    expect(fw!.uri).toBe('/files/get?f=%uFF0E%uFF0E%uFF0Fa%u0020b&n=caf%C3%A9');
    expect(u!.tags).toContain('variant-form:u00xx');
    expect(fw!.tags).toContain('variant-form:full-width');
  });

  it('decodes back to the original with AWS URL_DECODE_UNI (UTF-8 bytes stay %HH)', () => {
    for (const v of only(original, 'unicode-encode')) {
      expect(serverView(v, uni)).toEqual(serverView(original, once));
    }
  });

  it('encodes path segments and form values too, never the separators', () => {
    const post = req({
      method: 'POST',
      uri: '/a-b/c',
      headers: [...HEADERS, ['Content-Type', 'application/x-www-form-urlencoded']],
      body: 'k=<x>',
    });
    const [u] = only(post, 'unicode-encode');
    expect(u!.uri).toBe('/a%u002Db/c');
    expect(u!.body).toBe('k=%u003Cx%u003E');
  });
});
