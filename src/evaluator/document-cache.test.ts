import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { byteMatch, field, regex, rule, tt } from '../../test/support/rules.js';
import { buildRequest, type HttpRequest } from '../requests/model.js';
import type { RuleGroup } from '../waf/schema.js';
import type { WafDocument } from '../waf/schema.js';
import { compileDocument, documentCacheStats } from './evaluate.js';
import type { EvaluateOptions } from './options.js';

const req = (uri: string, headers: [string, string][] = [], body?: string): HttpRequest =>
  buildRequest({
    id: uri,
    method: body === undefined ? 'GET' : 'POST',
    uri,
    headers: [['Host', 'a.example'], ...headers],
    ...(body === undefined ? {} : { body }),
  });

const doc = (): WafDocument => ({
  kind: 'rule',
  rule: rule(regex('(?i)select.+from', field.args(), tt('URL_DECODE', 'LOWERCASE'))),
});

/** The same object graph with every object's keys in reverse order. */
function reversedKeys<T>(value: T): T {
  if (Array.isArray(value)) return value.map(reversedKeys) as T;
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value)
        .reverse()
        .map(([k, v]) => [k, reversedKeys(v)]),
    ) as T;
  return value;
}

describe('compiled-document cache', () => {
  it('returns the same compiled document for structurally equal documents and options', () => {
    const a = compileDocument(doc(), { trace: false, bodyLimit: 16384 });
    expect(compileDocument(reversedKeys(doc()), { bodyLimit: 16384, trace: false })).toBe(a);
    // trace defaults to on: no options and { trace: true } are the same compilation.
    expect(compileDocument(doc())).toBe(compileDocument(doc(), { trace: true }));
  });

  it('compiles again when an option that changes the outcome differs', () => {
    const group: RuleGroup = {
      Name: 'g',
      Capacity: 10,
      VisibilityConfig: { SampledRequestsEnabled: false, CloudWatchMetricsEnabled: false, MetricName: 'g' },
      Rules: [rule(byteMatch('x'))],
    };
    const variants: EvaluateOptions[] = [
      {},
      { trace: false },
      { resource: 'CLOUDFRONT' },
      { bodyLimit: 65536 },
      { bodyLimit: Infinity },
      { regexPatternSets: { 'arn:p': ['a'] } },
      { regexPatternSets: { 'arn:p': ['b'] } },
      { ipSets: { 'arn:i': ['10.0.0.0/8'] } },
      { ruleGroups: { 'arn:g': group } },
    ];
    const compiled = variants.map((o) => compileDocument(doc(), o));
    expect(new Set(compiled).size).toBe(variants.length);
    expect(compileDocument(doc(), { bodyLimit: Infinity })).toBe(compiled[4]);
  });

  it('keeps what was compiled when the caller changes its document afterwards', () => {
    const mine = doc();
    const first = compileDocument(mine, { trace: false });
    const sqli = req('/?q=SELECT%20a%20FROM%20b');
    expect(first.evaluate(sqli).action).toBe('BLOCK');
    if (mine.kind !== 'rule') throw new Error('unreachable');
    mine.rule.Statement.RegexMatchStatement!.RegexString = 'never-seen';
    mine.rule.Name = 'renamed';
    expect(first.evaluate(sqli)).toMatchObject({ action: 'BLOCK', terminatingRule: 'wafgen-CVE-2021-44228' });
    const second = compileDocument(mine, { trace: false });
    expect(second).not.toBe(first);
    expect(second.evaluate(sqli).action).toBe('ALLOW');
    expect(compileDocument(doc(), { trace: false })).toBe(first);
  });

  it('stays bounded: at most 500 documents, none whose key is over 256 KB', () => {
    for (let i = 0; i < 520; i++) compileDocument({ kind: 'rule', rule: rule(byteMatch(`needle-${i}`)) });
    expect(documentCacheStats().size).toBeLessThanOrEqual(documentCacheStats().max);
    expect(documentCacheStats().max).toBe(500);
    const huge: WafDocument = { kind: 'rule', rule: rule(byteMatch('a'.repeat(300 * 1024))) };
    expect(compileDocument(huge)).not.toBe(compileDocument(huge));
  });

  it('holds no per-request state: each request is judged on its own', () => {
    const compiled = compileDocument({
      kind: 'rules',
      rules: [
        rule(byteMatch('${jndi:', field.headers(), 'CONTAINS', tt('URL_DECODE', 'LOWERCASE'))),
        { ...rule(byteMatch('evil', field.body(), 'CONTAINS', tt('LOWERCASE'))), Name: 'body', Priority: 1 },
      ],
    });
    const attack = req('/', [['X-Api', '%24%7BJNDI:ldap://x}']]);
    const benign = req('/', [['X-Api', 'hello']], 'EVIL twin');
    const first = [attack, benign].map((r) => compiled.evaluate(r));
    expect(first.map((d) => d.terminatingRule)).toEqual(['wafgen-CVE-2021-44228', 'body']);
    for (let i = 0; i < 3; i++) {
      expect(compiled.evaluate(benign)).toEqual(first[1]);
      expect(compiled.evaluate(attack)).toEqual(first[0]);
    }
  });
});

// Decisions of the evaluator as it was before issue 13's speed work (commit 58d7e90), over a set of
// documents exercising every field, transformation and statement kind (test/vectors/evaluator, see
// its README): each decision's JSON, trace included, must hash the same.
describe('decisions and traces are those of the pre-cache evaluator', () => {
  const dir = new URL('../../test/vectors/evaluator/', import.meta.url);
  const read = <T>(name: string): T => JSON.parse(readFileSync(new URL(name, dir), 'utf8')) as T;
  const { documents, runs } = read<{
    documents: Record<string, WafDocument>;
    runs: { name: string; document: string; options: EvaluateOptions }[];
  }>('documents.json');
  const requests = read<HttpRequest[]>('requests.json');
  const expected = read<Record<string, [string, string, string, string][]>>('expected.json');
  const hash = (v: unknown): string =>
    createHash('sha256').update(JSON.stringify(v)).digest('hex').slice(0, 16);

  for (const { name, document, options } of runs) {
    for (const trace of [true, false]) {
      const key = `${name}, trace ${trace ? 'on' : 'off'}`;
      it(key, () => {
        // Twice: the second compilation comes from the cache, and its memo must start empty.
        for (let round = 0; round < 2; round++) {
          const compiled = compileDocument(structuredClone(documents[document]!), { ...options, trace });
          const got = requests.map((r) => {
            const d = compiled.evaluate(r);
            return [r.id, d.action, d.terminatingRule, hash(d)];
          });
          expect(got).toEqual(expected[key]);
        }
      });
    }
  }
});
