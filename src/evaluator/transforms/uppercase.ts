// UPPERCASE (AWS, by name): ASCII a–z → A–Z only. Bytes ≥ 0x80 are untouched, unlike String#toUpperCase.

const HAS_LOWER = /[a-z]/;
const LOWER_RUN = /[a-z]+/g;

export function uppercase(input: string): string {
  if (!HAS_LOWER.test(input)) return input;
  return input.replace(LOWER_RUN, (run) => run.toUpperCase());
}
