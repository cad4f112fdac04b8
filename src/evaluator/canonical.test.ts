import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { canonicalKey } from './canonical.js';

/** What the key must be for JSON data: JSON with every object's keys sorted (Array#sort's order). */
function sortedJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(sortedJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const members = Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${sortedJson((value as Record<string, unknown>)[k])}`);
    return `{${members.join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The same data with every object's keys in another order (reversed, then rotated by `shift`). */
function reordered(value: unknown, shift: number): unknown {
  if (Array.isArray(value)) return value.map((v) => reordered(v, shift));
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value).reverse();
    const turned = [...keys.slice(shift % (keys.length || 1)), ...keys.slice(0, shift % (keys.length || 1))];
    const out: Record<string, unknown> = {};
    for (const k of turned) out[k] = reordered((value as Record<string, unknown>)[k], shift);
    return out;
  }
  return value;
}

// Objects of up to 40 keys (mostly few: the next test makes sure of more than 16, where Array#sort
// takes over); keys that compare by UTF-16 code unit (astral characters, upper before lower case)
// and that look like numbers.
const key = fc.oneof(
  fc.string({ maxLength: 6 }),
  fc.string({ unit: 'grapheme', maxLength: 3 }),
  fc.nat().map(String),
);
const data = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.string({ unit: 'grapheme', maxLength: 8 }),
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(key, tie('value'), { maxKeys: 40, noNullPrototype: true }),
  ),
})).value;

describe('canonicalKey', () => {
  it('is sorted-key JSON for JSON data, whatever the order of the keys', () => {
    fc.assert(
      fc.property(data, fc.nat(50), (value, shift) => {
        const expected = sortedJson(value);
        expect(canonicalKey(value)).toBe(expected);
        expect(canonicalKey(reordered(value, shift))).toBe(expected);
      }),
      { numRuns: 300 },
    );
  });

  it('sorts objects of more keys than the insertion sort takes', () => {
    fc.assert(
      fc.property(fc.uniqueArray(key, { minLength: 17, maxLength: 60 }), fc.nat(60), (keys, shift) => {
        const value = Object.fromEntries(keys.map((k, i) => [k, i]));
        expect(canonicalKey(value)).toBe(sortedJson(value));
        expect(canonicalKey(reordered(value, shift))).toBe(sortedJson(value));
      }),
      { numRuns: 100 },
    );
  });

  it('tells apart values JSON would confuse, and leaves out undefined members', () => {
    const keys = [Infinity, -Infinity, NaN, null, 'Infinity', '#Infinity', 0, '0'].map((v) =>
      canonicalKey({ bodyLimit: v }),
    );
    expect(new Set(keys).size).toBe(keys.length);
    expect(canonicalKey({ a: 1, b: undefined })).toBe(canonicalKey({ a: 1 }));
    expect(canonicalKey({ a: undefined, b: 1 })).toBe('{"b":1}');
    expect(canonicalKey([undefined])).not.toBe(canonicalKey([null]));
    // A key holding the separators cannot pass for two members.
    expect(canonicalKey({ 'a":1,"b': 2 })).not.toBe(canonicalKey({ a: 1, b: 2 }));
  });

  it('refuses what has no canonical form and what is nested too deep', () => {
    expect(() => canonicalKey(new Map())).toThrow(/plain object/);
    expect(() => canonicalKey({ f: () => 1 })).toThrow(/function/);
    let deep: unknown = 1;
    for (let i = 0; i < 300; i++) deep = [deep];
    expect(() => canonicalKey(deep)).toThrow(/too deep/);
    expect(canonicalKey(Object.assign(Object.create(null) as object, { b: 1, a: 2 }))).toBe('{"a":2,"b":1}');
  });
});
