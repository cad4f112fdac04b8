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
