import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { GRAM, gramFilter } from './gram-filter.js';

describe('gramFilter', () => {
  it('never calls a substring of the text absent', () => {
    // Any text (two-byte characters, newlines, control characters included) and any slice of it.
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', minLength: 1, maxLength: 400 }),
        fc.nat(),
        fc.nat(),
        (text, a, b) => {
          const from = a % text.length;
          const needle = text.slice(from, from + 1 + (b % 60));
          return gramFilter(text).mayContain(needle);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('cannot rule out a needle shorter than a window', () => {
    const filter = gramFilter('abcdefghij');
    expect(filter.mayContain('zz'.slice(0, GRAM - 1))).toBe(true);
    expect(filter.mayContain('')).toBe(true);
  });

  it('rules out most needles the text does not carry', () => {
    // Ordinary text, 200 KB of it; needles that are not in it but whose characters are.
    const words = ['select', 'from', 'user', 'name', 'page', 'item', 'order', 'value', 'search', 'query'];
    let text = '';
    for (let i = 0; text.length < 200_000; i++) text += `${words[i % 10]}=${words[(i * 7) % 10]}${i % 97}&`;
    const filter = gramFilter(text);
    const absent = Array.from({ length: 1000 }, (_, i) => `class.module.${words[i % 10]}${i}x`);
    expect(absent.every((n) => !text.includes(n))).toBe(true);
    const ruledOut = absent.filter((n) => !filter.mayContain(n)).length;
    expect(ruledOut).toBeGreaterThan(950);
    // And the ones it carries all pass.
    const carried = Array.from({ length: 200 }, (_, i) => text.slice(i * 997, i * 997 + 5 + (i % 30)));
    expect(carried.every((n) => filter.mayContain(n))).toBe(true);
  });
});
