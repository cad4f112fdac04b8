/** Bad input from the user: the CLI prints the message on one line and exits 2; the API answers 400. */
export class InputError extends Error {
  override name = 'InputError';
}
