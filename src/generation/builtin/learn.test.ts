import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';

import { TEXT_TRANSFORMATIONS } from '../../evaluator/transforms/index.js';

import { buildRequest, type HttpRequest, type RequestInit } from '../../requests/model.js';
import * as grams from './gram-filter.js';
import { distinctive, learnRoutes, learnTokens, prepareBenignView } from './learn.js';

// The real filter, watched: the test below checks that it is built, and used, for each component.
vi.mock('./gram-filter.js', async (original) => {
  const real = await original<typeof grams>();
  return { ...real, gramFilter: vi.fn(real.gramFilter) };
});

const req = (id: string, init: Partial<RequestInit> & { uri: string }): HttpRequest =>
  buildRequest({ id, method: 'GET', headers: [['Host', 'victim.example']], ...init });

// The learners look at each benign array once (decoded, lower-cased, kept per array): these pin that
// the answers are still per array and per request.
describe('learning against a benign array', () => {
  const exploits = [
    req('e1', { uri: '/app/run?cmd=processbuilder.start&x=1', body: 'payload=java.lang.runtime' }),
    req('e2', { uri: '/app/run?cmd=ProcessBuilder.start&y=2', body: 'payload=java.lang.Runtime' }),
  ];
  const quiet = [req('b1', { uri: '/home?q=hello' }), req('b2', { uri: '/search?q=news' })];
  const noisy = [...quiet, req('b3', { uri: '/x', method: 'POST', body: 'text=about%20java.lang.runtime' })];

  it('drops a token some benign request carries, and only for the array that carries it', () => {
    const tokens = (benign: HttpRequest[]) => learnTokens(exploits, benign).tokens.map((t) => t.token);
    expect(tokens(quiet)).toEqual(expect.arrayContaining(['processbuilder.start', 'java.lang.runtime']));
    expect(tokens(noisy)).toContain('processbuilder.start');
    expect(tokens(noisy)).not.toContain('java.lang.runtime');
    // Asked again: the same answers (nothing carried over from the other array).
    expect(tokens(quiet)).toContain('java.lang.runtime');
  });

  it('prepareBenignView takes the array as it is then: later asks read that view', () => {
    const tokens = (benign: HttpRequest[]) => learnTokens(exploits, benign).tokens.map((t) => t.token);
    const carrying = req('b3', { uri: '/x', method: 'POST', body: 'text=about%20java.lang.runtime' });
    // Prepared first, then a request carrying the token added: the view was built before it.
    const prepared = [...quiet];
    prepareBenignView(prepared);
    prepared.push(carrying);
    expect(tokens(prepared)).toContain('java.lang.runtime');
    // The same array contents, never prepared: the first ask sees the carrying request.
    expect(tokens([...quiet, carrying])).not.toContain('java.lang.runtime');
  });

  it('never finds a needle across two benign requests', () => {
    // A route whose name holds a newline (`%0a`): in the texts joined one request per line it would
    // straddle b1 and b2; no single benign request carries it.
    const routeExploits = [req('r1', { uri: '/?a%0Ab=/x/y' }), req('r2', { uri: '/?a%0ab=/x/y&z=1' })];
    const benign = [req('b1', { uri: '/?q=a' }), req('b2', { uri: '/?b=/x/y' })];
    expect(learnRoutes(routeExploits, benign)).toEqual(['a\nb=/x/y']);
    expect(learnRoutes(routeExploits, [...benign, req('b3', { uri: '/?a%0ab=/x/y' })])).toEqual([]);
  });

  it('counts the benign paths an endpoint reaches, wildcards included', () => {
    const benign = Array.from({ length: 200 }, (_, i) => req(`b${i}`, { uri: `/page/${i}` }));
    expect(distinctive('/api/v1/items', benign)).toBe(true);
    // Three of 203 reach it (one of them encoded and upper-cased): over the 1% tolerance.
    const three = [
      ...benign,
      req('x1', { uri: '/api/v1/items' }),
      req('x2', { uri: '/API/v1/%69tems' }),
      req('x3', { uri: '/v2/api/v1/items/7' }),
    ];
    expect(distinctive('/api/v1/items', three)).toBe(false);
    expect(distinctive('/api/v1/items', three, 0.02)).toBe(true);
    expect(distinctive('/api/*/items', [...benign, req('y1', { uri: '/api/v2/items' })], 0)).toBe(false);
    expect(distinctive('/api/*/items', [...benign, req('y1', { uri: '/api/items' })], 0)).toBe(true);
  });
});

describe('learning with the benign filter built', () => {
  // The filter (gram-filter.ts) is built after enough asks of one benign array: the answers must be
  // the same before and after it, token by token.
  const benign = Array.from({ length: 300 }, (_, i) =>
    req(`b${i}`, {
      uri: `/page/${i}?q=item${i}&sort=name`,
      method: 'POST',
      body: `comment=about java.lang.string number ${i}&ref=org.example.app${i % 7}`,
      headers: [
        ['Host', 'victim.example'],
        ['X-Trace', `trace.span-${i % 5}`],
      ],
    }),
  );
  const exploitsFor = (i: number) => [
    req(`e${i}a`, {
      uri: `/run?cmd=processbuilder.start${i}&q=item${i}`,
      method: 'POST',
      body: `x=java.lang.runtime${i}&y=about java.lang.string&z=org.example.app${i % 7}`,
      headers: [['X-Trace', `trace.span-${i % 5} exploit.marker${i}`]],
    }),
    req(`e${i}b`, {
      uri: `/run?cmd=processbuilder.start${i}&q=item${i}`,
      method: 'POST',
      body: `x=java.lang.runtime${i}&y=about java.lang.string&z=org.example.app${i % 7}`,
      headers: [['X-Trace', `trace.span-${i % 5} exploit.marker${i}`]],
    }),
  ];

  it('gives the same tokens once the filter is in use as a scan of the texts', () => {
    // A fresh copy of the array is a fresh view, asked once: its answers come from plain scans.
    const expected = (i: number) => learnTokens(exploitsFor(i), [...benign]).tokens;
    const shared = [...benign];
    const built = vi.mocked(grams.gramFilter);
    built.mockClear();
    // 60 rounds: enough asks of every component (query, body, headers) for its filter to be built.
    for (let i = 0; i < 60; i++) {
      const got = learnTokens(exploitsFor(i), shared).tokens;
      expect(got).toEqual(expected(i));
      const tokens = got.map((t) => t.token);
      // Carried by benign requests too: never learned.
      expect(tokens).not.toContain('java.lang.string');
      expect(tokens).not.toContain(`org.example.app${i % 7}`);
      expect(tokens).not.toContain(`trace.span-${i % 5}`);
      // Only in the exploits: learned, before the filter (the first asks) and after it.
      expect(tokens).toEqual(expect.arrayContaining([`java.lang.runtime${i}`, `exploit.marker${i}`]));
    }
    // Built once per component of the shared array (the fresh copies never asked enough).
    expect(built).toHaveBeenCalledTimes(3);
  });
});

describe('distinctive, counted over the joined paths', () => {
  // The reference: an `includes` per decoded path (`+` kept, as learn.ts decodes paths).
  const decoded = (path: string) =>
    TEXT_TRANSFORMATIONS.URL_DECODE_UNI(path.replace(/\+/g, '%2B')).toLowerCase();
  const reference = (endpoint: string, benign: HttpRequest[], tolerance: number) =>
    benign.filter((r) => decoded(r.path).includes(endpoint)).length <= benign.length * tolerance;
  // Paths of few characters, so endpoints hit them often, some more than once, some across a
  // decoded newline (`%0a`) that the joined text also uses between paths.
  const piece = fc.constantFrom('/', 'ab', 'ba', 'abab', '%0a', '%2f', '+', 'A');

  it('answers what a search of every path answers', () => {
    fc.assert(
      fc.property(
        // `size: 'max'`: fast-check's default size would make at most ~10 paths of ~10 pieces.
        fc.array(fc.array(piece, { maxLength: 12, size: 'max' }), { maxLength: 60, size: 'max' }),
        fc.array(fc.constantFrom('ab', 'ba', 'abab', 'bab'), { minLength: 1, maxLength: 3 }),
        fc.constantFrom(0, 0.01, 0.05, 0.2, 0.5),
        (paths, segments, tolerance) => {
          const benign = paths.map((p, i) => req(`b${i}`, { uri: `/${p.join('')}` }));
          const endpoint = `/${segments.join('/')}`;
          if (segments.length === 1 && segments[0]!.length < 6) return true; // refused before counting
          return distinctive(endpoint, benign, tolerance) === reference(endpoint, benign, tolerance);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('counts by path, not by line, when a decoded path holds a newline', () => {
    // `%0a` decodes to a newline inside the path: the joined text has one more line than there
    // are paths. 100 paths, 1 may reach the endpoint at 1%: this one, twice over, on two lines.
    const benign = Array.from({ length: 99 }, (_, i) => req(`b${i}`, { uri: `/page/${i}` }));
    const split = [...benign, req('n', { uri: '/ab/ba%0a/ab/ba' })];
    expect(distinctive('/ab/ba', split)).toBe(true);
    expect(distinctive('/ab/ba', [...split, req('m', { uri: '/x/ab/ba' })])).toBe(false);
  });

  it('counts a path that carries the endpoint twice once', () => {
    // 100 paths, 1 may reach it at 1%: the one that does, twice over, is still one.
    const benign = Array.from({ length: 99 }, (_, i) => req(`b${i}`, { uri: `/page/${i}` }));
    const twice = [...benign, req('t', { uri: '/app/export/app/export' })];
    expect(distinctive('/app/export', twice)).toBe(true);
    expect(distinctive('/app/export', [...twice, req('u', { uri: '/x/app/export' })])).toBe(false);
  });
});
