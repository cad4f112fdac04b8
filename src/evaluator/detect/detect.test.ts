import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { utf8ToByteString } from '../../core/bytes.js';
import { detectSqli, detectXss } from './index.js';
import { SqliState } from './sqli/sqli.js';
import { SQLI_FINGERPRINTS, SQLI_KEYWORDS } from './sqli/data.js';
import { libinjectionXss } from './xss/xss.js';

interface Vector {
  input: string;
  matched: boolean;
  fingerprint?: string;
  source: string;
}

// Expected verdicts and fingerprints were produced by libinjection 3.9.2 itself (the C library, as
// built into Debian's libmodsecurity3 3.0.9) on each input.
const load = (name: string): Vector[] =>
  JSON.parse(
    readFileSync(new URL(`../../../test/vectors/detect/${name}`, import.meta.url), 'utf8'),
  ) as Vector[];
const sqliVectors = load('sqli.json');
const xssVectors = load('xss.json');

describe('SQLi LOW = libinjection', () => {
  it('has the full keyword table and fingerprint list', () => {
    expect(SQLI_FINGERPRINTS.size).toBe(8367);
    expect(SQLI_KEYWORDS.size).toBe(985);
    expect(SQLI_KEYWORDS.get('UNION ALL')).toBe('U');
    expect(SQLI_FINGERPRINTS.has('S&SOS')).toBe(true);
  });

  it.each(sqliVectors.map((v) => [v.source, JSON.stringify(v.input).slice(0, 80), v] as const))(
    '%s: %s',
    (_src, _name, v) => {
      const r = detectSqli(v.input, 'LOW');
      expect(r.matched).toBe(v.matched);
      expect(r.fingerprint).toBe(v.fingerprint);
      // HIGH only ever adds matches.
      if (v.matched) expect(detectSqli(v.input, 'HIGH')).toEqual(r);
    },
  );

  it('reports the token values behind the fingerprint, like AWS matchedData', () => {
    expect(detectSqli('10 AND 1=1')).toEqual({
      matched: true,
      fingerprint: '1&1',
      tokens: ['10', 'AND', '1'],
    });
    expect(detectSqli("1' or '1'='1")).toEqual({
      matched: true,
      fingerprint: 's&sos',
      tokens: ['1', 'or', '1', '=', '1'],
    });
    expect(detectSqli('1 UNION ALL SELECT user()--').tokens).toEqual([
      '1',
      'UNION ALL',
      'SELECT',
      'user',
      '(',
    ]);
  });

  it.each([
    "O'Brien",
    'select a plan',
    '1-2',
    'john.doe@example.com',
    'mailto:first.last+tag@sub.example.co.uk',
    'https://example.com/search?q=a+b&page=2#top',
    '/users/john.doe/profile',
    '{"id":123,"name":"Ann","tags":["a","b"],"active":true,"parent":null}',
    'aGVsbG8gd29ybGQhIHRoaXMgaXMgYmFzZTY0Lg==',
    'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c',
    "don't stop me now",
    'Tom & Jerry',
    'rock and roll',
    '2024-01-01T10:30:00Z',
    '+1 (555) 123-4567',
    'union station',
    utf8ToByteString('Café crème brûlée'),
    '',
  ])('does not flag %j at LOW or HIGH', (s) => {
    expect(detectSqli(s, 'LOW').matched).toBe(false);
    expect(detectSqli(s, 'HIGH').matched).toBe(false);
  });
});

describe('SQLi HIGH', () => {
  it.each([
    [' OR 1=1', '1&1'],
    ['or 1=1--', '1&1c'],
    [' AND 1=0#', '1&1c'],
    ['ORDER BY SLEEP(5)', '1Bf(1'],
    [' HAVING 1=1-- ', '1B1c'],
    ["' or '' '", 's&s'],
    ["admin' #", 'sc'],
  ])('%j is caught by HIGH only (%s)', (s, fp) => {
    expect(detectSqli(s, 'LOW').matched).toBe(false);
    const r = detectSqli(s, 'HIGH');
    expect(r.matched).toBe(true);
    expect(r.fingerprint).toBe(fp);
  });

  it('leaves the assumed leading number out of the tokens', () => {
    expect(detectSqli(' OR 1=1', 'HIGH').tokens).toEqual(['OR', '1']);
  });

  it('still passes plain keyword prose', () => {
    for (const s of [
      'order by price',
      'having fun',
      'is null',
      'between 1 and 5',
      'not null',
      '-- comment',
    ]) {
      expect(detectSqli(s, 'HIGH').matched).toBe(false);
    }
  });
});

describe('XSS = libinjection_xss', () => {
  it.each(xssVectors.map((v) => [v.source, JSON.stringify(v.input).slice(0, 80), v] as const))(
    '%s: %s',
    (_src, _name, v) => {
      expect(detectXss(v.input).matched).toBe(v.matched);
    },
  );

  it('says why', () => {
    expect(detectXss('<script>alert(1)</script>')).toEqual({ matched: true, reason: 'tag <script>' });
    expect(detectXss('<img src=x onerror=alert(1)>')).toEqual({ matched: true, reason: 'attribute onerror' });
    expect(detectXss('<a href="&#x6A;avascript:x">').reason).toBe('java URL in attribute href');
    expect(detectXss('" onmouseover="x').reason).toBe('attribute onmouseover');
  });

  it.each([
    'hello world',
    'a < b and c > d',
    '<b>bold</b> and <i>italic</i>',
    '<a href="https://example.com/x?y=1">link</a>',
    '<img src="/logo.png" alt="logo">',
    'I <3 you',
    "O'Brien",
    '{"html":"<p>x</p>"}',
    'javascript is fun',
  ])('does not flag %j', (s) => {
    expect(detectXss(s).matched).toBe(false);
  });
});

describe('robustness', () => {
  // Deterministic pseudo-random byte strings.
  let seed = 12345;
  const rnd = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff;
    return seed % n;
  };
  const alphabet = '\'"`\\/*-#!@$(){}[],;:=<>&|^%~+.?0123456789aeEnNqQuUxXbB \t\n\0\xa0\xff\x80';

  it('never throws on arbitrary byte strings (internal APIs, no try/catch)', () => {
    for (let i = 0; i < 3000; i++) {
      let s = '';
      const len = rnd(40);
      for (let j = 0; j < len; j++)
        s += rnd(4) === 0 ? String.fromCharCode(rnd(256)) : alphabet[rnd(alphabet.length)];
      expect(() => new SqliState(s).isSqli()).not.toThrow();
      expect(() => libinjectionXss(s)).not.toThrow();
      expect(() => detectSqli(s, 'HIGH')).not.toThrow();
    }
  });

  // How the time grows with the size of these inputs is measured by `npm run bench:linearity`;
  // here, that they are read to the end and judged like their short forms.
  it('reads pathological inputs to the end', () => {
    const n = 20_000;
    const inputs = [
      "'" + "\\'".repeat(n),
      "'" + "''".repeat(n),
      '/*'.repeat(n),
      '$a$ '.repeat(n),
      '1+'.repeat(n),
      '('.repeat(n),
      '<a '.repeat(n),
      '<a /'.repeat(n),
      '<!--' + '-'.repeat(n),
      '<%' + '%'.repeat(n),
      '<a b="' + '&#'.repeat(n),
      ' '.repeat(n) + '1 OR 1=1',
    ];
    // The verdict of a periodic input does not change with how many periods it has.
    const verdicts = (x: string) => [detectSqli(x, 'HIGH').matched, detectXss(x)];
    for (const s of inputs) {
      const half = s.slice(0, s.length >> 1);
      expect(verdicts(s), s.slice(0, 12)).toEqual(verdicts(s.startsWith(' ') ? s.slice(n >> 1) : half));
    }
    expect(detectSqli(' '.repeat(n) + '1 OR 1=1', 'HIGH').matched).toBe(true);
  });
});
