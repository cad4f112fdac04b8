import { isCSpace } from './shared.js';

// TRIM_RIGHT: AWS documents it only by name. Like ModSecurity's t:trimRight we strip trailing C `isspace`
// bytes (space, \t, \n, \v, \f, \r); NBSP is not stripped.

export function trimRight(input: string): string {
  let end = input.length;
  while (end > 0 && isCSpace(input.charCodeAt(end - 1))) end--;
  return end === input.length ? input : input.slice(0, end);
}
