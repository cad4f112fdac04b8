// REPLACE_COMMENTS (AWS): replace each C-style comment /* ... */ with a single space; consecutive comments
// are not compressed; an unterminated comment (/* to the end) is also replaced with a space; a standalone
// */ is left alone. Scanning follows ModSecurity's t:replaceComments ("/*/" opens a comment, it does not
// close one).

export function replaceComments(input: string): string {
  let open = input.indexOf('/*');
  if (open < 0) return input;
  let out = '';
  let from = 0;
  while (open >= 0) {
    out += input.slice(from, open) + ' ';
    const close = input.indexOf('*/', open + 2);
    if (close < 0) return out;
    from = close + 2;
    open = input.indexOf('/*', from);
  }
  return out + input.slice(from);
}
