// LOWERCASE (AWS): ASCII A–Z → a–z only. Bytes ≥ 0x80 are untouched, unlike String#toLowerCase.

const HAS_UPPER = /[A-Z]/;
const UPPER_RUN = /[A-Z]+/g;

export function lowercase(input: string): string {
  if (!HAS_UPPER.test(input)) return input;
  return input.replace(UPPER_RUN, (run) => run.toLowerCase());
}
