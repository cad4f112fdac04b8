import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { GRAM, gramFilter } from './gram-filter.js';

describe('gramFilter', () => {
  it('never calls a substring of the text absent', () => {
    // Any text (two-byte characters, surrogates, newlines, control characters included) and any
    // slice of it; `size: 'max'` lets fast-check make texts of thousands of characters, not a dozen.
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', minLength: 1, maxLength: 5_000, size: 'max' }),
        fc.nat(),
        fc.nat(),
        (text, a, b) => {
          const from = a % text.length;
          const needle = text.slice(from, from + 1 + (b % 60));
          return gramFilter(text).mayContain(needle);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('never calls a substring absent in a text large enough for the largest bitmap', () => {
    // 9 million characters: past the 2^24-bit cap, so most bits are set and indexes reach the top.
    let text = '';
    for (let i = 0; text.length < 9_000_000; i++) text += `k${(i * 2_654_435_761) % 1_000_003}=v${i % 977};`;
    const filter = gramFilter(text);
    for (let i = 0; i < 2_000; i++) {
      const at = (i * 4_513) % (text.length - 40);
      expect(filter.mayContain(text.slice(at, at + 5 + (i % 30)))).toBe(true);
    }
    expect(filter.mayContain(text.slice(-5))).toBe(true);
    expect(filter.mayContain(text.slice(0, 5))).toBe(true);
  });

  it('cannot rule out a needle shorter than a window', () => {
    const filter = gramFilter('abcdefghij');
    expect(filter.mayContain('zz'.slice(0, GRAM - 1))).toBe(true);
    expect(filter.mayContain('')).toBe(true);
  });

  it('rules out most needles the text does not carry, by any of their windows', () => {
    // Ordinary text, 200 KB of it. The absent needles are made of words the text carries, joined
    // in orders it does not: every needle's first window (and its last) is in the text, so only a
    // window in the middle can rule it out.
    const words = ['select', 'from', 'user', 'name', 'page', 'item', 'order', 'value', 'search', 'query'];
    let text = '';
    for (let i = 0; text.length < 200_000; i++) text += `${words[i % 10]}=${words[(i * 7) % 10]}&`;
    const filter = gramFilter(text);
    const absent: string[] = [];
    for (const a of words)
      for (const b of words)
        for (const c of words) {
          const needle = `${a}=${b}=${c}`;
          const edgesCarried = text.includes(needle.slice(0, GRAM)) && text.includes(needle.slice(-GRAM));
          if (!text.includes(needle) && edgesCarried) absent.push(needle);
        }
    expect(absent.length).toBeGreaterThan(500);
    const ruledOut = absent.filter((n) => !filter.mayContain(n)).length;
    expect(ruledOut).toBeGreaterThan(absent.length * 0.95);
    // And the ones it carries all pass.
    const carried = Array.from({ length: 200 }, (_, i) => text.slice(i * 997, i * 997 + 5 + (i % 30)));
    expect(carried.every((n) => filter.mayContain(n))).toBe(true);
  });
});
