import { describe, expect, it } from 'vitest';
import {
  applyEdits,
  decodeSlot,
  editSlot,
  encodeAll,
  encodeFor,
  encodeNonAlnum,
  nonOverlapping,
  regexEdits,
  toUnits,
} from './encoding.js';
import {
  bodyKind,
  formatParams,
  looksLikeForm,
  mapJsonStrings,
  mapSlots,
  parseParams,
  type Slot,
} from './parts.js';
import { buildRequest } from '../requests/model.js';

describe('decodeSlot', () => {
  it('decodes %HH once; + is a space in query and form only', () => {
    expect(decodeSlot('a%20b+c%2Fd', 'query')).toBe('a b c/d');
    expect(decodeSlot('a%20b+c%2Fd', 'form')).toBe('a b c/d');
    expect(decodeSlot('a%20b+c%2Fd', 'path')).toBe('a b+c/d');
    expect(decodeSlot('a%20b+c', 'text')).toBe('a%20b+c');
  });

  it('leaves invalid and truncated escapes as they are, and decodes only once', () => {
    expect(decodeSlot('%zz%2%', 'query')).toBe('%zz%2%');
    expect(decodeSlot('..%252F', 'path')).toBe('..%2F');
  });

  it('maps every unit to its raw form', () => {
    expect(toUnits('a%41+', 'query')).toEqual([
      { raw: 'a', char: 'a' },
      { raw: '%41', char: 'A' },
      { raw: '+', char: ' ' },
    ]);
  });
});

describe('encoding', () => {
  it('encodeNonAlnum keeps letters and digits only; encodeAll encodes every byte', () => {
    expect(encodeNonAlnum("a-b.c/'1'")).toBe('a%2Db%2Ec%2F%271%27');
    expect(encodeAll('ab/')).toBe('%61%62%2F');
    expect(encodeNonAlnum('\xc3\xa9')).toBe('%C3%A9');
  });

  it('encodeFor keeps what the context allows raw and never a separator', () => {
    expect(encodeFor("a b&c=d#e+f%'()", 'query')).toBe("a%20b%26c%3Dd%23e%2Bf%25'()");
    expect(encodeFor('a/b?c;d=e', 'path')).toBe('a%2Fb%3Fc%3Bd=e');
    expect(encodeFor('a b&c', 'text')).toBe('a b&c');
  });

  it('encodeFor lets a byte stay raw when the original slot already carried it raw', () => {
    expect(encodeFor('{x}', 'query', '${jndi:x}')).toBe('{x}');
    expect(encodeFor('{x}', 'query', 'plain')).toBe('%7Bx%7D');
    // ... but never a structural byte, even if the original had it raw
    expect(encodeFor('#&', 'query', 'a#b')).toBe('%23%26');
    expect(encodeFor('a;b', 'path', 'x;y')).toBe('a%3Bb');
  });
});

describe('applyEdits', () => {
  it('rewrites only the edited units and keeps the encoding of the rest', () => {
    const raw = '1%20union%20select+2';
    const edits = regexEdits(decodeSlot(raw, 'query'), /union/, () => 'UNION');
    expect(applyEdits(raw, 'query', edits)).toBe('1%20UNION%20select+2');
  });

  it('encodes inserted text for the slot unless the edit is raw', () => {
    expect(applyEdits('a%20b', 'query', [{ start: 1, end: 2, text: '&' }])).toBe('a%26b');
    expect(applyEdits('a%20b', 'query', [{ start: 1, end: 2, text: '+', raw: true }])).toBe('a+b');
    expect(applyEdits('ab', 'query', [{ start: 1, end: 1, text: ' ' }])).toBe('a%20b');
  });

  it('rejects overlapping edits; nonOverlapping drops them', () => {
    const edits = [
      { start: 0, end: 3, text: 'x' },
      { start: 2, end: 4, text: 'y' },
    ];
    expect(() => applyEdits('abcd', 'text', edits)).toThrow(/bad edit/);
    expect(nonOverlapping(edits)).toEqual([edits[0]]);
  });

  it('editSlot returns the raw slot itself when nothing changes', () => {
    const raw = '%41%42';
    expect(editSlot(raw, 'query', () => [])).toBe(raw);
  });
});

describe('parameters and bodies', () => {
  it('parseParams/formatParams round-trip every query, empty parts included', () => {
    for (const s of ['', 'a', 'a=1&b', '&a=1&&b=2&', 'a==b&=c', 'x=%26&y=a+b']) {
      expect(formatParams(parseParams(s))).toBe(s);
    }
    expect(parseParams('a=1=2&b')).toEqual([
      { name: 'a', value: '1=2', eq: true },
      { name: 'b', value: '', eq: false },
    ]);
  });

  it('bodyKind trusts the body shape, not only the label', () => {
    const form = [['Content-Type', 'application/x-www-form-urlencoded']] as [string, string][];
    expect(bodyKind({ headers: form, body: 'a=1&b=2' })).toBe('form');
    expect(bodyKind({ headers: form, body: '{"a":1}' })).toBe('json'); // Jolokia labels JSON as a form
    expect(bodyKind({ headers: form, body: '<?xml version="1.0"?><a>$(id)</a>' })).toBe('text');
    expect(bodyKind({ headers: form, body: '<%@ page import="java.io.*"%>\n<% x %>' })).toBe('text');
    expect(bodyKind({ headers: form, body: '7v4y69fs' })).toBe('text');
    expect(bodyKind({ headers: [], body: '["a"]' })).toBe('json');
    expect(bodyKind({ headers: [['content-type', 'multipart/form-data; boundary=x']], body: '--x' })).toBe(
      'multipart',
    );
    expect(bodyKind({ headers: form, body: undefined })).toBe('none');
    expect(looksLikeForm('action=x&query={"a": 1}')).toBe(true);
  });

  it('mapJsonStrings rewrites string values, never keys, and keeps the rest of the body', () => {
    const body = '{ "a": "x", "x": ["x", 1, {"b": "\\u0078y"}] }';
    expect(mapJsonStrings(body, (v) => v.replace('x', 'X'))).toBe('{ "a": "X", "x": ["X", 1, {"b": "Xy"}] }');
    expect(mapJsonStrings(body, (v) => v)).toBe(body);
  });

  it('mapSlots never hands a path separator or a parameter separator to the callback', () => {
    const seen: [string, Slot['where']][] = [];
    const req = buildRequest({
      id: 'r',
      method: 'POST',
      uri: '/a/b%2Fc/?x=1&y&&z=',
      headers: [
        ['Content-Type', 'application/x-www-form-urlencoded'],
        ['Content-Length', '7'],
      ],
      body: 'f=1&g=2',
    });
    const d = mapSlots(
      req,
      ['path', 'query-name', 'query-value', 'form-name', 'form-value', 'header'],
      (raw, s) => {
        seen.push([raw, s.where]);
        return raw;
      },
    );
    expect(seen).toEqual([
      ['a', 'path'],
      ['b%2Fc', 'path'],
      ['x', 'query-name'],
      ['1', 'query-value'],
      ['y', 'query-name'],
      ['z', 'query-name'],
      ['f', 'form-name'],
      ['1', 'form-value'],
      ['g', 'form-name'],
      ['2', 'form-value'],
      ['application/x-www-form-urlencoded', 'header'],
    ]);
    expect(d.uri).toBe(req.uri);
    expect(d.body).toBe(req.body);
  });
});
