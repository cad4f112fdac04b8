import { describe, expect, it } from 'vitest';

import { byteMatchOffset } from './byte-match.js';

describe('byteMatchOffset', () => {
  it('EXACTLY, STARTS_WITH, ENDS_WITH, CONTAINS', () => {
    expect(byteMatchOffset('BadBot', 'BadBot', 'EXACTLY')).toBe(0);
    expect(byteMatchOffset('BadBot/1', 'BadBot', 'EXACTLY')).toBe(-1);
    expect(byteMatchOffset('BadBot/1', 'BadBot', 'STARTS_WITH')).toBe(0);
    expect(byteMatchOffset('x BadBot', 'BadBot', 'ENDS_WITH')).toBe(2);
    expect(byteMatchOffset('x BadBot y', 'BadBot', 'CONTAINS')).toBe(2);
    expect(byteMatchOffset('badbot', 'BadBot', 'CONTAINS')).toBe(-1);
  });

  // The AWS guide's own examples for CONTAINS_WORD with the search string "BadBot".
  it.each([
    ['BadBot', 0],
    ['BadBot;', 0],
    [';BadBot', 1],
    ['-BadBot;', 1],
    ['User-Agent: BadBot/1.0', 12],
    ['BadBots', -1],
    ['xBadBot', -1],
    ['Bad_BadBot', -1],
    ['BadBot_x BadBot', 9],
  ])('CONTAINS_WORD in %j → %i', (value, offset) => {
    expect(byteMatchOffset(value, 'BadBot', 'CONTAINS_WORD')).toBe(offset);
  });
});
