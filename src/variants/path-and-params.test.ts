// path-tricks, param-order, move-payload.

import { describe, expect, it } from 'vitest';
import { type HttpRequest, type RequestInit, buildRequest } from '../requests/model.js';
import { normalizePath } from '../evaluator/transforms/normalize-path.js';
import { urlDecode } from '../evaluator/transforms/url-decode.js';
import { deriveVariants } from './index.js';
import { paramsOf } from './parts.js';
import { flattenJson, paramsToJson } from './techniques/move-payload.js';
import { pathTrick } from './techniques/path-tricks.js';

const HEADERS: [string, string][] = [
  ['Host', 't.example'],
  ['Accept', '*/*'],
];

function req(init: Partial<RequestInit> & { uri: string }): HttpRequest {
  return buildRequest({ id: 'r', method: 'GET', headers: HEADERS, expect: 'block', ...init });
}

const only = (r: HttpRequest, t: string) => deriveVariants(r, { techniques: [t] });
const formOf = (r: HttpRequest) =>
  r.tags!.find((t) => t.startsWith('variant-form:'))!.slice('variant-form:'.length);
const decodedParams = (s: string) => paramsOf(s).map((p) => [urlDecode(p.name), urlDecode(p.value)]);

describe('path-tricks', () => {
  const traversal = req({
    uri: '/static/../admin/config.php?file=../../etc/passwd',
    class: 'path-traversal',
  });

  it('makes each trick once, on the path and on traversal values', () => {
    expect(only(traversal, 'path-tricks').map((v) => [formOf(v), v.uri])).toEqual([
      ['dot-segment', '/./static/../admin/./config.php?file=.././.././etc/passwd'],
      ['double-slash', '/static/../admin//config.php?file=..//..//etc/passwd'],
      ['percent-dot', '/static/%2e%2e/admin/config.php?file=%2e%2e/%2e%2e/etc/passwd'],
      ['tomcat', '/static/..;/admin/config.php?file=../../etc/passwd'],
      ['trailing-slash', '/static/../admin/config.php/?file=../../etc/passwd'],
      ['backslash', '/static/..\\admin/config.php?file=..%5C..%5Cetc/passwd'],
    ]);
  });

  it('resolves to the same path after dot-segment removal (URL-decoded once)', () => {
    const want = normalizePath(urlDecode(traversal.path));
    for (const v of only(traversal, 'path-tricks')) {
      const form = formOf(v);
      if (form === 'tomcat' || form === 'backslash' || form === 'trailing-slash') continue;
      expect(normalizePath(urlDecode(v.path)).replace(/\/+/g, '/')).toBe(want);
    }
  });

  it('keeps backslashes for path-traversal requests only', () => {
    const other = req({ uri: '/static/../admin/panel', class: 'auth-bypass' });
    expect(only(other, 'path-tricks').map(formOf)).toEqual([
      'dot-segment',
      'double-slash',
      'percent-dot',
      'tomcat',
      'trailing-slash',
    ]);
  });

  it('never doubles a slash before or next to a dot segment', () => {
    expect(pathTrick('/a/b/../../c/d', 'double-slash')).toBe('/a/b/../../c//d');
    expect(pathTrick('/a/b/c', 'double-slash')).toBe('/a//b//c');
    expect(pathTrick('/x.js', 'double-slash')).toBe('/x.js');
    expect(pathTrick('/', 'dot-segment')).toBe('/./');
    expect(pathTrick('/', 'trailing-slash')).toBe('/');
    expect(pathTrick('*', 'dot-segment')).toBe('*');
  });

  it('rewrites a traversal in a cookie or JSON value, and fixes Content-Length', () => {
    const r = req({
      method: 'POST',
      uri: '/api',
      headers: [
        ...HEADERS,
        ['Cookie', 'SESSID=/../../var/x;'],
        ['Content-Type', 'application/json'],
        ['Content-Length', '21'],
      ],
      body: '{"t":"../web.xml","n":1}',
      class: 'path-traversal',
    });
    const dot = only(r, 'path-tricks').find((v) => formOf(v) === 'dot-segment')!;
    expect(dot.headers).toEqual([
      ...HEADERS,
      ['Cookie', 'SESSID=/.././.././var/x;'],
      ['Content-Type', 'application/json'],
      ['Content-Length', '26'],
    ]);
    expect(dot.body).toBe('{"t":".././web.xml","n":1}');
    const back = only(r, 'path-tricks').find((v) => formOf(v) === 'backslash')!;
    expect(JSON.parse(back.body!)).toEqual({ t: '..\\web.xml', n: 1 });
  });
});

describe('param-order', () => {
  it('reverses, then rotates the parameter groups; same-name parameters keep their order', () => {
    const r = req({ uri: '/p?a=1&b=2&a=3&c[]=x&c[]=y' });
    expect(only(r, 'param-order').map((v) => [v.id, v.uri])).toEqual([
      ['r~param-order-1', '/p?c[]=x&c[]=y&b=2&a=1&a=3'],
      ['r~param-order-2', '/p?b=2&c[]=x&c[]=y&a=1&a=3'],
    ]);
  });

  it('reorders form bodies too, and gives nothing for a single parameter', () => {
    const r = req({
      method: 'POST',
      uri: '/p?only=1',
      headers: [...HEADERS, ['Content-Type', 'application/x-www-form-urlencoded']],
      body: 'x=1&y=2',
    });
    expect(only(r, 'param-order').map((v) => [v.uri, v.body])).toEqual([['/p?only=1', 'y=2&x=1']]);
    expect(only(req({ uri: '/p?a=1' }), 'param-order')).toEqual([]);
  });
});

describe('move-payload', () => {
  it('query → form body and JSON body (POST, Content-Type and Content-Length set)', () => {
    const r = req({ uri: '/api?a=1&b[c]=x%20y&b[d][]=2&b[d][]=3' });
    const [form, json] = only(r, 'move-payload');
    expect(form).toMatchObject({
      id: 'r~move-payload-1',
      method: 'POST',
      uri: '/api',
      body: 'a=1&b[c]=x%20y&b[d][]=2&b[d][]=3',
      headers: [...HEADERS, ['Content-Type', 'application/x-www-form-urlencoded'], ['Content-Length', '32']],
    });
    expect(json).toMatchObject({
      id: 'r~move-payload-2',
      method: 'POST',
      uri: '/api',
      headers: [...HEADERS, ['Content-Type', 'application/json'], ['Content-Length', '39']],
    });
    expect(JSON.parse(json!.body!)).toEqual({ a: '1', b: { c: 'x y', d: ['2', '3'] } });
    expect(decodedParams(form!.body!)).toEqual(decodedParams(r.query));
  });

  it('form body → query (a GET without body, Content-Type and Content-Length dropped), all-form and JSON', () => {
    const r = req({
      method: 'POST',
      uri: '/login?next=/home',
      headers: [...HEADERS, ['Content-Type', 'application/x-www-form-urlencoded'], ['Content-Length', '29']],
      body: `user=admin'--&q={"a": "b c"}`,
    });
    const [query, form, json] = only(r, 'move-payload');
    expect(query).toMatchObject({
      method: 'GET',
      uri: `/login?next=/home&user=admin'--&q=%7B%22a%22:%20%22b%20c%22%7D`,
    });
    expect(query!.body).toBeUndefined();
    expect(query!.headers).toEqual(HEADERS);
    expect(decodedParams(query!.query)).toEqual([['next', '/home'], ...decodedParams(r.body!)]);
    expect(form).toMatchObject({
      method: 'POST',
      uri: '/login',
      body: `next=/home&user=admin'--&q={"a": "b c"}`,
    });
    expect(form!.headers.at(-1)).toEqual(['Content-Length', String(form!.body!.length)]);
    expect(json!.uri).toBe('/login');
    expect(JSON.parse(json!.body!)).toEqual({ next: '/home', user: "admin'--", q: '{"a": "b c"}' });
  });

  it('JSON body → query and form body, nested objects in bracket notation', () => {
    const r = req({
      method: 'POST',
      uri: '/api',
      headers: [...HEADERS, ['Content-Type', 'application/json']],
      body: '{"cmd":"id; ls","o":{"k":["a&b"]}}',
    });
    expect(only(r, 'move-payload').map((v) => [v.method, v.uri, v.body ?? null])).toEqual([
      ['GET', '/api?cmd=id%3B%20ls&o%5Bk%5D%5B0%5D=a%26b', null],
      ['POST', '/api', 'cmd=id%3B%20ls&o%5Bk%5D%5B0%5D=a%26b'],
    ]);
  });

  it('leaves a raw query (no name=value) and non-parameter bodies where they are', () => {
    expect(only(req({ uri: '/?unix:AAAA|http://x/' }), 'move-payload')).toEqual([]);
    const xml = req({
      method: 'POST',
      uri: '/x?a=1',
      headers: [...HEADERS, ['Content-Type', 'application/xml']],
      body: '<a/>',
    });
    expect(only(xml, 'move-payload')).toEqual([]);
    const formWithRawQuery = req({
      method: 'POST',
      uri: '/s?redirect:${x}',
      headers: [...HEADERS, ['Content-Type', 'application/x-www-form-urlencoded']],
      body: 'a=1',
    });
    expect(only(formWithRawQuery, 'move-payload').map((v) => [v.uri, v.body])).toEqual([
      ['/s?redirect:${x}', '{"a":"1"}'],
    ]);
  });

  it('paramsToJson nests qs-style names, keeps odd names flat, refuses clashes and non-UTF-8', () => {
    const p = (name: string, value: string) => ({ name, value, eq: true });
    expect(paramsToJson([p('a[0][x]', '1'), p('a[0][y]', '2'), p('b', '1'), p('b', '2')])).toEqual({
      a: [{ x: '1', y: '2' }],
      b: ['1', '2'],
    });
    expect(paramsToJson([p('name[#this.getClass()]', 'v')])).toEqual({ 'name[#this.getClass()]': 'v' });
    expect(paramsToJson([p('a', '1'), p('a[b]', '2')])).toBeUndefined();
    expect(paramsToJson([p('a', '\xff')])).toBeUndefined();
    expect(paramsToJson([p('k', '\xc3\xa9')])).toEqual({ k: 'é' });
    expect(flattenJson({ a: { b: [1, null] } }).map((m) => [m.name, m.value])).toEqual([
      ['a[b][0]', '1'],
      ['a[b][1]', ''],
    ]);
  });
});
