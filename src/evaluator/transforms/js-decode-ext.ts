import { readHex, readOctal } from './js-decode.js';
import { codePointToUtf8, fromCode } from './shared.js';

// JS_DECODE_EXT: AWS's text for it was not obtained (semantics unconfirmed). Our reading of "extended": a
// lossless JS_DECODE. Every escape decodes to the code point JavaScript would see, written as UTF-8 (so
// \u00e9, \xe9 and \351 all give C3 A9, and \u4e2d gives E4 B8 AD) instead of keeping a low byte; ES2015
// \u{H…} (1–6 hex digits, ≤ 10FFFF) is understood; a \uD8xx\uDCxx surrogate pair becomes one code point and
// a lone surrogate becomes U+FFFD; \ + line terminator (LF, CR, CRLF) is a line continuation and vanishes.
// Like JS_DECODE, full-width ASCII FF01–FF5E still folds to ASCII and other escaped bytes lose the \.

const SIMPLE: ReadonlyMap<number, string> = new Map([
  [0x61, '\x07'], // a (not JavaScript, kept for parity with JS_DECODE)
  [0x62, '\b'], // b
  [0x66, '\f'], // f
  [0x6e, '\n'], // n
  [0x72, '\r'], // r
  [0x74, '\t'], // t
  [0x76, '\v'], // v
]);

function emit(cp: number): string {
  if (cp >= 0xff01 && cp <= 0xff5e) return fromCode(cp - 0xfee0);
  return codePointToUtf8(cp);
}

/** \u escape at `i` (input[i+1] === 'u'): [code point, index after it], or undefined. */
function readUnicode(input: string, i: number): [number, number] | undefined {
  if (input.charCodeAt(i + 2) === 0x7b /* { */) {
    let j = i + 3;
    let cp = 0;
    while (j < input.length && j < i + 9) {
      const d = readHex(input, j, 1);
      if (d < 0) break;
      cp = cp * 16 + d;
      j++;
    }
    if (j > i + 3 && input.charCodeAt(j) === 0x7d /* } */ && cp <= 0x10ffff) return [cp, j + 1];
    return undefined;
  }
  const unit = readHex(input, i + 2, 4);
  if (unit < 0) return undefined;
  if (unit >= 0xd800 && unit <= 0xdbff && input.charCodeAt(i + 6) === 0x5c && input[i + 7] === 'u') {
    const low = readHex(input, i + 8, 4);
    if (low >= 0xdc00 && low <= 0xdfff) return [0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00), i + 12];
  }
  return [unit, i + 6];
}

export function jsDecodeExt(input: string): string {
  let i = input.indexOf('\\');
  if (i < 0) return input;
  const n = input.length;
  let out = input.slice(0, i);
  while (i < n) {
    if (input.charCodeAt(i) !== 0x5c /* \ */ || i + 1 >= n) {
      out += input[i];
      i++;
      continue;
    }
    const e = input.charCodeAt(i + 1);
    if (e === 0x75 /* u */) {
      const unicode = readUnicode(input, i);
      if (unicode !== undefined) {
        out += emit(unicode[0]);
        i = unicode[1];
        continue;
      }
    } else if (e === 0x78 /* x */) {
      const code = readHex(input, i + 2, 2);
      if (code >= 0) {
        out += emit(code);
        i += 4;
        continue;
      }
    } else if (e === 0x0a /* LF */ || e === 0x0d /* CR */) {
      i += e === 0x0d && input.charCodeAt(i + 2) === 0x0a ? 3 : 2;
      continue;
    } else {
      const octal = readOctal(input, i);
      if (octal !== undefined) {
        out += emit(octal[0]);
        i = octal[1];
        continue;
      }
    }
    out += SIMPLE.get(e) ?? input[i + 1];
    i += 2;
  }
  return out;
}
