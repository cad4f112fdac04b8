// REMOVE_WHITESPACE: AWS documents it only by name. Like ModSecurity's t:removeWhitespace we delete the C
// `isspace` bytes (space, \t, \n, \v, \f, \r) and NBSP (0xA0).

const WS = /[\t\n\v\f\r \xa0]/;
const WS_RUN = /[\t\n\v\f\r \xa0]+/g;

export function removeWhitespace(input: string): string {
  if (!WS.test(input)) return input;
  return input.replace(WS_RUN, '');
}
