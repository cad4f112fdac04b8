import { createHash } from 'node:crypto';

/** MD5 (AWS): the raw 16-byte binary digest of the input bytes, as a byte string. */
export function md5(input: string): string {
  return createHash('md5').update(input, 'latin1').digest('binary');
}
