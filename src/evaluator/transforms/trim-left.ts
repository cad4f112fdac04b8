import { isCSpace } from './shared.js';

// TRIM_LEFT: AWS documents it only by name. Like ModSecurity's t:trimLeft we strip leading C `isspace`
// bytes (space, \t, \n, \v, \f, \r); NBSP is not stripped.

export function trimLeft(input: string): string {
  let start = 0;
  while (start < input.length && isCSpace(input.charCodeAt(start))) start++;
  return start === 0 ? input : input.slice(start);
}
