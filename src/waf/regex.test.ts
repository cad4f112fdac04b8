import { describe, expect, it } from 'vitest';

import { analyzeRegex, compileRegex, regexCacheSizes, RegexCompileError } from './regex.js';

describe('compileRegex cache', () => {
  it('returns the same compiled pattern for the same pattern, another for another', () => {
    const a = compileRegex('(?i)union\\s+select');
    expect(compileRegex('(?i)union\\s+select')).toBe(a);
    expect(compileRegex('(?i)union\\s+select\\b')).not.toBe(a);
    expect(a.test('1 UNION  SELECT 2')).toBe(true);
  });

  it('throws the same reason again for an invalid pattern', () => {
    expect(() => compileRegex('(a')).toThrow(RegexCompileError);
    expect(() => compileRegex('(a')).toThrow(/invalid regex "\(a"/);
  });

  it('does not keep patterns longer than 4 KB', () => {
    const long = 'a'.repeat(5000);
    expect(compileRegex(long)).not.toBe(compileRegex(long));
  });

  it('stays bounded by count and by the total length of the patterns', () => {
    for (let i = 0; i < 2100; i++) compileRegex(`x${i}y`);
    expect(regexCacheSizes().compiled).toBeLessThanOrEqual(2000);
    // 520 patterns of 4,096 chars hold more than the 2 MB the cache may keep.
    for (let i = 0; i < 520; i++) compileRegex(`${String(i).padStart(3, '0')}${'b'.repeat(4093)}`);
    expect(regexCacheSizes().compiledChars).toBeLessThanOrEqual(2 * 2 ** 20);
    expect(regexCacheSizes().compiled).toBeLessThan(520);
  });
});

describe('analyzeRegex memo', () => {
  it('gives equal findings again, and a caller changing them changes nothing', () => {
    const first = analyzeRegex('(a+)+\\1');
    expect(first.map((p) => p.message)).toEqual([
      'uses backreferences, which AWS WAF rejects',
      'uses a capturing group; AWS documents capturing subexpressions as unsupported',
      'nested repetition; AWS rejects excessive nested repetition',
    ]);
    first.pop();
    expect(analyzeRegex('(a+)+\\1')).toHaveLength(3);
    expect(analyzeRegex('a{1,500}')).toEqual([
      {
        severity: 'warning',
        message: 'repetition count {1,500} is large; AWS rejects large repetition counts',
      },
    ]);
  });
});
