import { describe, expect, it } from 'vitest';

import { InputError } from './errors.js';
import { parseJson } from './input.js';
import { jsonErrorOffset } from './json-error.js';

describe('parseJson', () => {
  it.each([
    ['{"a": }', 'line 1, column 7'],
    ['{\n  "a": 1,\n  "b": tru\n}', 'line 3, column 8'],
    ['[1, 2,]', 'line 1, column 7'],
    ['{"a": "x\u0001"}', 'line 1, column 9'],
    ['{"a": 1} extra', 'line 1, column 10'],
    ['{"a": [1, 2', 'end of file'],
  ])('points at the first bad byte of %j', (text, where) => {
    expect(() => parseJson(text, 'f.json')).toThrow(InputError);
    expect(() => parseJson(text, 'f.json')).toThrow(where);
  });

  it('agrees with JSON.parse on valid documents', () => {
    for (const text of ['{}', '[]', '"x"', '-1.5e3', '{"a":[true,false,null,{"b":"\\u00e9\\n"}]}']) {
      expect(jsonErrorOffset(text)).toBe(-1);
      expect(parseJson(text, 'f')).toEqual(JSON.parse(text));
    }
  });

  it('rejects an empty file with its own message', () => {
    expect(() => parseJson('  \n', 'f.json')).toThrow('file is empty');
  });
});
