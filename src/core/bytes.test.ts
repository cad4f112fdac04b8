import { describe, expect, it } from 'vitest';

import { byteStringToUtf8, utf8ByteLength, utf8ToByteString } from './bytes.js';

describe('byte strings', () => {
  it('are the UTF-8 bytes, one char per byte, every byte value kept (0x80-0x9f too)', () => {
    expect(utf8ToByteString('abc')).toBe('abc');
    expect(utf8ToByteString('é')).toBe('\xc3\xa9');
    // U+0080..U+009F encode to 0xC2 0x80..0x9F: a windows-1252 decoder would turn 0x80 into U+20AC.
    expect(utf8ToByteString('\u0085\u009f')).toBe('\xc2\x85\xc2\x9f');
    expect(utf8ToByteString('😀')).toBe('\xf0\x9f\x98\x80');
    const all = Array.from({ length: 256 }, (_, i) => String.fromCharCode(i)).join('');
    expect(utf8ToByteString(byteStringToUtf8(utf8ToByteString(all)))).toBe(utf8ToByteString(all));
  });

  it('decode back to text, invalid sequences as U+FFFD', () => {
    expect(byteStringToUtf8('\xf0\x9f\x98\x80 caf\xc3\xa9')).toBe('😀 café');
    expect(byteStringToUtf8('a\xffb')).toBe('a\ufffdb');
  });

  it('count bytes, not characters', () => {
    expect(utf8ByteLength('aé😀')).toBe(1 + 2 + 4);
    expect(utf8ByteLength('x'.repeat(1000))).toBe(1000);
  });
});
