// COMPRESS_WHITE_SPACE (AWS): \f \t \n \r \v and NBSP (0xA0) become a space, then runs of spaces collapse
// to one. Equivalent to replacing every maximal run of those bytes (and spaces) by a single space.

const NEEDS_WORK = /[\t\n\v\f\r\xa0]| {2}/;
const WS_RUN = /[\t\n\v\f\r \xa0]+/g;

export function compressWhiteSpace(input: string): string {
  if (!NEEDS_WORK.test(input)) return input;
  return input.replace(WS_RUN, ' ');
}
