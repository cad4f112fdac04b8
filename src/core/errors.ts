/** @module Errors every layer shares. */

/** Bad input from the user: the CLI prints the message on one line and exits 2; the API answers 400. */
export class InputError extends Error {
  override name = 'InputError';
}

/** Error message of an unknown thrown value, on one line. */
export function errorMessage(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.replace(/\s*\n\s*/g, ' ');
}
