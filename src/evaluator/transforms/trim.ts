import { trimLeft } from './trim-left.js';
import { trimRight } from './trim-right.js';

// TRIM: AWS documents it only by name. Like ModSecurity's t:trim we strip C `isspace` bytes (space, \t, \n,
// \v, \f, \r) from both ends; NBSP is not stripped.

export function trim(input: string): string {
  return trimLeft(trimRight(input));
}
