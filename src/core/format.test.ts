import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { formatCount } from './format.js';

describe('formatCount', () => {
  it('writes what toLocaleString("en-US") writes for whole numbers', () => {
    for (const n of [0, 7, 999, 1000, 3412, 12345, 999999, 1000000, -1, -1234, Number.MAX_SAFE_INTEGER])
      expect(formatCount(n)).toBe(n.toLocaleString('en-US'));
    fc.assert(fc.property(fc.integer(), (n) => formatCount(n) === n.toLocaleString('en-US')));
    fc.assert(
      fc.property(fc.maxSafeInteger(), (n) => formatCount(n) === n.toLocaleString('en-US')),
      { numRuns: 500 },
    );
  });

  it('leaves other numbers to toLocaleString', () => {
    for (const n of [-0, 1.5, 1234.5678, Number.NaN, Infinity, 2 ** 60])
      expect(formatCount(n)).toBe(n.toLocaleString('en-US'));
  });
});
