import { describe, expect, it } from 'vitest';

import { buildRequest, type HttpRequest } from '../requests/model.js';
import type { Rule, Statement } from '../waf/model/shapes.generated.js';
import { compileDocument, isCaught } from './evaluate.js';
import { RequestSet } from './request-set.js';

const req = (id: string, uri: string, body?: string): HttpRequest =>
  buildRequest({
    id,
    method: body ? 'POST' : 'GET',
    uri,
    headers: [['Host', 'a.example']],
    ...(body ? { body } : {}),
  });
const regex = (
  RegexString: string,
  FieldToMatch: Statement['RegexMatchStatement'] extends infer R
    ? R extends { FieldToMatch: infer F }
      ? F
      : never
    : never,
): Statement => ({
  RegexMatchStatement: {
    RegexString,
    FieldToMatch,
    TextTransformations: [
      { Priority: 0, Type: 'URL_DECODE_UNI' },
      { Priority: 1, Type: 'LOWERCASE' },
    ],
  },
});
const rule = (Statement: Statement, Action: Rule['Action'] = { Block: {} }): Rule => ({
  Name: 'r',
  Priority: 0,
  Statement,
  Action,
  VisibilityConfig: { SampledRequestsEnabled: false, CloudWatchMetricsEnabled: false, MetricName: 'r' },
});

const requests = [
  req('1', '/admin/export?file=../../etc/passwd'),
  req('2', '/admin/list?page=2'),
  req('3', '/search?q=select+1', 'text=union select'),
  req('4', '/ADMIN/Export'),
  req('5', '/', '{"a":"b"}'),
];
const path = regex('/admin/', { UriPath: {} });
const dots = regex('\\.\\./', { QueryString: {} });
const sql = {
  SqliMatchStatement: {
    FieldToMatch: { Body: { OversizeHandling: 'CONTINUE' } },
    TextTransformations: [{ Priority: 0, Type: 'NONE' }],
  },
} as Statement;
const union = regex('union\\s+select', { Body: { OversizeHandling: 'CONTINUE' } });

describe('RequestSet', () => {
  it('answers exactly what the evaluator answers for And/Or/Not compositions of shared leaves', () => {
    const set = new RequestSet(requests);
    const shapes: Statement[] = [
      path,
      { AndStatement: { Statements: [path, dots] } },
      { OrStatement: { Statements: [dots, sql, union] } },
      { AndStatement: { Statements: [path, { NotStatement: { Statement: dots } }] } },
      {
        OrStatement: {
          Statements: [
            { AndStatement: { Statements: [path, dots] } },
            { NotStatement: { Statement: { OrStatement: { Statements: [path, union] } } } },
          ],
        },
      },
    ];
    for (const s of shapes) {
      const compiled = compileDocument({ kind: 'rule', rule: rule(s) }, { trace: false });
      const expected = requests.filter((r) => isCaught('rule', compiled.evaluate(r))).map((r) => r.id);
      expect(set.blockedBy(rule(s)).map((r) => r.id)).toEqual(expected);
    }
    // A statement alone answers as the Block rule of it would.
    for (const s of shapes) expect(set.matching(s)).toEqual(set.blockedBy(rule(s)));
    // The shapes are not all the same answer: the test can tell them apart.
    expect(
      new Set(
        shapes.map((s) =>
          set
            .blockedBy(rule(s))
            .map((r) => r.id)
            .join(),
        ),
      ).size,
    ).toBeGreaterThan(3);
  });

  it('evaluates a rule that is not a plain Block rule whole', () => {
    const set = new RequestSet(requests);
    const count = rule(path, { Count: {} });
    const compiled = compileDocument({ kind: 'rule', rule: count }, { trace: false });
    expect(set.blockedBy(count).map((r) => r.id)).toEqual(
      requests.filter((r) => isCaught('rule', compiled.evaluate(r))).map((r) => r.id),
    );
  });
});

describe('RequestSet shortcuts', () => {
  const leaves = [
    path,
    dots,
    sql,
    union,
    regex('export', { UriPath: {} }),
    regex('select', { QueryString: {} }),
  ];
  // Every And/Or/Not shape of two or three of the leaves, nested one level: asked in turn of one set,
  // so later shapes find some leaves known on some requests only.
  const shapes: Statement[] = [];
  for (const a of leaves)
    for (const b of leaves) {
      if (a === b) continue;
      shapes.push({ AndStatement: { Statements: [a, b] } }, { OrStatement: { Statements: [a, b] } });
      for (const c of leaves.slice(0, 3))
        shapes.push(
          { AndStatement: { Statements: [{ OrStatement: { Statements: [a, c] } }, b] } },
          {
            OrStatement: {
              Statements: [{ NotStatement: { Statement: a } }, { AndStatement: { Statements: [b, c] } }],
            },
          },
        );
    }

  it('answers what the evaluator answers whatever is already known', () => {
    const set = new RequestSet(requests);
    for (const s of shapes) {
      const compiled = compileDocument({ kind: 'rule', rule: rule(s) }, { trace: false });
      const expected = requests.filter((r) => isCaught('rule', compiled.evaluate(r))).map((r) => r.id);
      expect(
        set.matching(s).map((r) => r.id),
        JSON.stringify(s),
      ).toEqual(expected);
    }
  });

  it('evaluates a leaf only on the requests its answer depends on, and never twice', () => {
    const set = new RequestSet(requests);
    const exportPath = regex('export', { UriPath: {} });
    // Known first: `export` in the path (requests 1 and 4 of 5).
    expect(set.matching(exportPath).map((r) => r.id)).toEqual(['1', '4']);
    expect(set.evaluations).toBe(5);
    // And-ed with it, `../` in the query is needed on those two requests only.
    expect(set.matching({ AndStatement: { Statements: [dots, exportPath] } }).map((r) => r.id)).toEqual([
      '1',
    ]);
    expect(set.evaluations).toBe(7);
    // Or-ed with it, on the other three; then everything is known and asking again costs nothing.
    expect(set.matching({ OrStatement: { Statements: [exportPath, dots] } }).map((r) => r.id)).toEqual([
      '1',
      '4',
    ]);
    expect(set.evaluations).toBe(10);
    set.matching({ AndStatement: { Statements: [exportPath, { NotStatement: { Statement: dots } }] } });
    expect(set.evaluations).toBe(10);
  });

  it('answers many statements at once as it answers each alone', () => {
    const statements = [...leaves, ...shapes.slice(0, 10)];
    const together = new RequestSet(requests).matchingEach(statements);
    const alone = new RequestSet(requests);
    expect(together.map((m) => m.map((r) => r.id))).toEqual(
      statements.map((s) => alone.matching(s).map((r) => r.id)),
    );
    expect(together.some((m) => m.length > 0) && together.some((m) => m.length === 0)).toBe(true);
  });

  it('forgets the least recently used leaves past its size bound, and works them out again', () => {
    // What the cache counts for a leaf of these five requests: its states, its key (the
    // statement's JSON, UTF-16) and 128 bytes of overhead. Room for `path` and the larger of the
    // other two, not for all three.
    const size = (s: Statement) => 5 + JSON.stringify(s).length * 2 + 128;
    const set = new RequestSet(requests, size(path) + Math.max(size(dots), size(union)) + 10);
    set.matching(path);
    set.matching(dots);
    expect(set.evaluations).toBe(10);
    set.matching(path); // known: nothing evaluated, and `path` is now the most recent
    expect(set.evaluations).toBe(10);
    set.matching(union); // a third leaf: `dots`, the least recent, goes
    expect(set.evaluations).toBe(15);
    set.matching(path);
    expect(set.evaluations).toBe(15);
    expect(set.matching(dots).map((r) => r.id)).toEqual(['1']); // the same answer, worked out again
    expect(set.evaluations).toBe(20);
  });

  it('refuses a bound that is not a positive whole number', () => {
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])
      expect(() => new RequestSet(requests, bad)).toThrow(/maxLeafBytes must be a positive whole number/);
  });
});

describe('RequestSet leaves kept elsewhere (knownLeaves, recall)', () => {
  const shape: Statement = {
    OrStatement: { Statements: [{ AndStatement: { Statements: [path, dots] } }, union, sql] },
  };

  it('a new set of the same requests answers from what another worked out, evaluating nothing', () => {
    const first = new RequestSet(requests);
    const expected = first.blockedBy(rule(shape)).map((r) => r.id);
    expect(first.evaluations).toBeGreaterThan(0);
    const kept = first.knownLeaves(100);
    // The And's `dots` was asked only where `path` matched: kept as it is, partly known.
    expect(kept.map(([k]) => k).sort()).toEqual(
      [path, dots, union, sql].map((s) => JSON.stringify(s)).sort(),
    );
    const second = new RequestSet(requests.slice());
    expect(second.recall(structuredClone(kept))).toBe(4);
    expect(second.blockedBy(rule(shape)).map((r) => r.id)).toEqual(expected);
    expect(second.evaluations).toBe(0);
    // What was unknown stays to be worked out: `dots` on the two requests `path` did not match.
    expect(second.matching(dots).map((r) => r.id)).toEqual(['1']);
    expect(second.evaluations).toBe(2);
  });

  it('takes back the order it gave (most recently used first) and copies what it takes', () => {
    const set = new RequestSet(requests);
    for (const s of [union, path, sql, dots, path]) set.matching(s);
    const given = set.knownLeaves(10).map(([k, states]) => [k, Uint8Array.from(states)] as const);
    const back = new RequestSet(requests);
    const entries = given.map(([k, states]) => [k, Uint8Array.from(states)]);
    expect(back.recall(entries)).toBe(4);
    expect(back.knownLeaves(10)).toEqual(given);
    // Changing what was given afterwards does not reach the set.
    for (const [, states] of entries) (states as Uint8Array).fill(0);
    expect(back.knownLeaves(10)).toEqual(given);
  });

  it('gives at most `max` leaves, most recently used first, and none it knows nothing of', () => {
    const set = new RequestSet(requests);
    set.matching(path);
    set.matching(union);
    set.matching(sql);
    set.matching(path);
    expect(set.knownLeaves(2).map(([k]) => k)).toEqual([path, sql].map((s) => JSON.stringify(s)));
    // An And whose first leaf matches nothing leaves the second unasked: not given.
    const none = regex('nowhere', { UriPath: {} });
    const fresh = new RequestSet(requests);
    fresh.matching({ AndStatement: { Statements: [none, dots] } });
    expect(fresh.knownLeaves(10).map(([k]) => k)).toEqual([JSON.stringify(none)]);
  });

  it('skips what is malformed and keeps what it already knows', () => {
    const worked = new RequestSet(requests);
    worked.matching(path);
    const [[key, states]] = worked.knownLeaves(1) as [[string, Uint8Array]];
    const set = new RequestSet(requests);
    const lying = new Uint8Array(requests.length).fill(2); // "every request matches"
    expect(
      set.recall([
        [key, new Uint8Array(requests.length + 1)], // another set's length
        [key, Uint8Array.from([2, 2, 3, 0, 0])], // a value that is not a state
        [key, Array.from(states)], // not a Uint8Array
        [42, states],
        ['x'.repeat(65 * 1024), states], // a key past the bound
        [key],
        'not an entry',
      ]),
    ).toBe(0);
    expect(set.recall({ length: 1, 0: [key, states] })).toBe(0); // not an array
    // A sparse array claiming billions of entries is refused at once, not walked.
    const sparse: unknown[] = [];
    sparse.length = 2 ** 32 - 1;
    sparse[0] = [key, states];
    expect(set.recall(sparse)).toBe(0);
    expect(set.recall([[key, states]], 64 * 1024, 0)).toBe(0);
    expect(set.evaluations).toBe(0);
    expect(set.matching(path).map((r) => r.id)).toEqual(['1', '2', '4']);
    expect(set.evaluations).toBe(5);
    // Known already: a different answer from elsewhere does not replace it.
    expect(set.recall([[key, lying]])).toBe(0);
    expect(set.matching(path).map((r) => r.id)).toEqual(['1', '2', '4']);
    // A valid entry is taken as the evaluator's answer (the caller's key must vouch for it).
    const other = new RequestSet(requests);
    expect(other.recall([[key, lying]])).toBe(1);
    expect(other.matching(path)).toHaveLength(requests.length);
  });
});
