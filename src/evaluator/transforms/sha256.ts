import { createHash } from 'node:crypto';

/** SHA256 (AWS): the raw 32-byte binary digest of the input bytes, as a byte string. */
export function sha256(input: string): string {
  return createHash('sha256').update(input, 'latin1').digest('binary');
}
