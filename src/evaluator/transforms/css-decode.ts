import { fromCode, hexValue, isCSpace } from './shared.js';

// CSS_DECODE (AWS): decode CSS 2.x escapes using up to two bytes; a backslash before a non-hex byte is
// dropped (ja\vascript → javascript). The rest follows ModSecurity's t:cssDecode: a \ takes 1–6 hex digits
// and yields one byte, the value of the last two digits (one digit: its value); for 4 digits, or 5–6 digits
// with leading zeros, full-width FFxx (FF01–FF5E) folds to ASCII; one whitespace byte after a hex escape is
// swallowed; \ + LF is a line continuation (both dropped); a trailing lone \ is dropped.

export function cssDecode(input: string): string {
  let i = input.indexOf('\\');
  if (i < 0) return input;
  const n = input.length;
  let out = input.slice(0, i);
  while (i < n) {
    if (input.charCodeAt(i) !== 0x5c /* \ */) {
      out += input[i];
      i++;
      continue;
    }
    i++; // the backslash itself is never kept
    if (i >= n) break;
    let j = 0;
    while (j < 6 && i + j < n && hexValue(input.charCodeAt(i + j)) >= 0) j++;
    if (j === 0) {
      if (input.charCodeAt(i) !== 0x0a /* LF: line continuation */) out += input[i];
      i++;
      continue;
    }
    let byte: number;
    let fullCheck = false;
    if (j === 1) {
      byte = hexValue(input.charCodeAt(i));
    } else {
      byte = (hexValue(input.charCodeAt(i + j - 2)) << 4) | hexValue(input.charCodeAt(i + j - 1));
      if (j === 4) fullCheck = true;
      else if (j === 5) fullCheck = input[i] === '0';
      else if (j === 6) fullCheck = input[i] === '0' && input[i + 1] === '0';
    }
    if (
      fullCheck &&
      byte > 0x00 &&
      byte < 0x5f &&
      (input[i + j - 3] === 'f' || input[i + j - 3] === 'F') &&
      (input[i + j - 4] === 'f' || input[i + j - 4] === 'F')
    ) {
      byte += 0x20;
    }
    out += fromCode(byte);
    if (i + j < n && isCSpace(input.charCodeAt(i + j))) j++;
    i += j;
  }
  return out;
}
