import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  asciiLower,
  buildRequest,
  cookiesOf,
  headerOrder,
  headerValues,
  queryArgs,
  setHeader,
  splitTarget,
  toOriginForm,
} from './model.js';

const req = (headers: [string, string][], uri = '/') =>
  buildRequest({ id: 't', method: 'GET', uri, headers });

describe('splitTarget', () => {
  it('splits at the first ? only and decodes nothing', () => {
    expect(splitTarget('/a%2fb/..;/c?x=%27&y=1?z')).toEqual({ path: '/a%2fb/..;/c', query: 'x=%27&y=1?z' });
    expect(splitTarget('/plain')).toEqual({ path: '/plain', query: '' });
    expect(splitTarget('/empty?')).toEqual({ path: '/empty', query: '' });
  });

  it('keeps # in the target: on the wire it is data, not a fragment', () => {
    expect(splitTarget('/s.action?%{#context}=1')).toEqual({ path: '/s.action', query: '%{#context}=1' });
  });
});

describe('buildRequest', () => {
  it('derives path and query and drops unset optional fields', () => {
    const r = buildRequest({
      id: 'x',
      method: 'GET',
      uri: '/p?q=1',
      headers: [],
      body: undefined,
      expect: 'allow',
    });
    expect(r).toEqual({
      id: 'x',
      method: 'GET',
      uri: '/p?q=1',
      path: '/p',
      query: 'q=1',
      headers: [],
      expect: 'allow',
    });
    expect('body' in r).toBe(false);
  });
});

describe('toOriginForm', () => {
  it('converts absolute-form targets without normalising them', () => {
    expect(toOriginForm('http://h.example:8080/a/../b%2e?x=1')).toEqual({
      uri: '/a/../b%2e?x=1',
      host: 'h.example:8080',
    });
    expect(toOriginForm('https://user:pw@h.example')).toEqual({ uri: '/', host: 'h.example' });
    expect(toOriginForm('http://h.example?x')).toEqual({ uri: '/?x', host: 'h.example' });
  });

  it('leaves origin-form, asterisk and authority-form targets alone', () => {
    expect(toOriginForm('/a?b=http://x')).toEqual({ uri: '/a?b=http://x' });
    expect(toOriginForm('*')).toEqual({ uri: '*' });
    expect(toOriginForm('h.example:443')).toEqual({ uri: 'h.example:443' });
  });
});

describe('headerValues / headerOrder / setHeader', () => {
  const r = req([
    ['Host', 'a'],
    ['X-Forwarded-For', '1.1.1.1'],
    ['x-forwarded-for', '2.2.2.2'],
    ['User-Agent', 'ua'],
  ]);

  it('matches names case-insensitively and keeps every value in order', () => {
    expect(headerValues(r, 'X-FORWARDED-FOR')).toEqual(['1.1.1.1', '2.2.2.2']);
    expect(headerValues(r, 'referer')).toEqual([]);
  });

  it('lower-cases names and joins them with ":" in arrival order, repeats included', () => {
    expect(headerOrder(r)).toBe('host:x-forwarded-for:x-forwarded-for:user-agent');
    expect(headerOrder(req([]))).toBe('');
  });

  it('lower-cases ASCII only (a byte string may hold Latin-1 letters)', () => {
    expect(headerOrder(req([['X-\xc4', 'v']]))).toBe('x-\xc4');
  });

  it('setHeader replaces in place or inserts', () => {
    const h: [string, string][] = [
      ['A', '1'],
      ['host', 'old'],
    ];
    setHeader(h, 'Host', 'new', 0);
    setHeader(h, 'B', '2', 0);
    expect(h).toEqual([
      ['B', '2'],
      ['A', '1'],
      ['host', 'new'],
    ]);
  });
});

describe('cookiesOf', () => {
  it('parses every Cookie header, in order, names case-sensitive, values raw', () => {
    const r = req([
      ['Cookie', 'sid=abc; Theme=dark ;  x=a=b; ; flag;q="quoted%20v"'],
      ['Accept', '*/*'],
      ['cookie', 'sid=second'],
    ]);
    expect(cookiesOf(r)).toEqual([
      ['sid', 'abc'],
      ['Theme', 'dark'],
      ['x', 'a=b'],
      ['flag', ''],
      ['q', '"quoted%20v"'],
      ['sid', 'second'],
    ]);
  });

  it('returns [] without a Cookie header', () => {
    expect(cookiesOf(req([['Host', 'a']]))).toEqual([]);
  });
});

describe('queryArgs', () => {
  it('splits on & only, at the first =, raw, keeping duplicates and empty values', () => {
    expect(queryArgs('a=boston&a=seattle&b=&c&d=x=y&e=%27;f=1&=v')).toEqual([
      ['a', 'boston'],
      ['a', 'seattle'],
      ['b', ''],
      ['c', ''],
      ['d', 'x=y'],
      ['e', '%27;f=1'],
      ['', 'v'],
    ]);
  });

  it('skips zero-length segments and handles an empty query', () => {
    expect(queryArgs('')).toEqual([]);
    expect(queryArgs('a=1&&b=2&')).toEqual([
      ['a', '1'],
      ['b', '2'],
    ]);
  });
});

describe('asciiLower', () => {
  // The reference: A–Z only, char by char. The native fast path must agree on any string, with
  // Latin-1 capitals (À–Þ, which String#toLowerCase would change), × and chars above 0xFF.
  const reference = (s: string) => s.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));
  it('lower-cases A–Z only, whatever else the string holds', () => {
    expect(asciiLower('Content-TYPE')).toBe('content-type');
    expect(asciiLower('ÀÉÞ×ABC')).toBe('ÀÉÞ×abc');
    expect(asciiLower('İSTANBUL Ω')).toBe('İstanbul Ω');
    const chars = fc.constantFrom(
      'A',
      'z',
      'Q',
      '-',
      '%',
      '\u00c0',
      '\u00d7',
      '\u00de',
      '\u00df',
      '\u0130',
      '\u03a9',
      '\uff21',
    );
    fc.assert(
      fc.property(fc.array(chars, { maxLength: 40 }), (cs) => {
        const s = cs.join('');
        expect(asciiLower(s)).toBe(reference(s));
      }),
    );
  });
});
