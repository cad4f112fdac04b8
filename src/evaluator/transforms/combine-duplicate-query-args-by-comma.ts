// Pre-parse COMBINE_DUPLICATE_QUERY_ARGS_BY_COMMA (AWS): arguments that share a name are merged into one,
// at the position of the first, with their values joined by commas: a=1&b=2&a=3 → a=1,3&b=2. Undocumented
// details, our choice: the raw query string is split on '&' only; names are compared byte for byte (case-
// and encoding-sensitive, "a" ≠ "%61"); an argument without '=' counts as an empty value ("a&a=1" →
// "a=,1"); a name that occurs once is left exactly as written; empty segments ("a=1&&b") are kept in place.

export function combineDuplicateQueryArgsByComma(input: string): string {
  if (input.indexOf('&') < 0) return input;
  const segments = input.split('&');
  const groups = new Map<string, string[]>();
  let duplicated = false;
  for (const segment of segments) {
    if (segment === '') continue;
    const eq = segment.indexOf('=');
    const name = eq < 0 ? segment : segment.slice(0, eq);
    const value = eq < 0 ? '' : segment.slice(eq + 1);
    const values = groups.get(name);
    if (values === undefined) groups.set(name, [value]);
    else {
      values.push(value);
      duplicated = true;
    }
  }
  if (!duplicated) return input;
  const out: string[] = [];
  const emitted = new Set<string>();
  for (const segment of segments) {
    if (segment === '') {
      out.push(segment);
      continue;
    }
    const eq = segment.indexOf('=');
    const name = eq < 0 ? segment : segment.slice(0, eq);
    if (emitted.has(name)) continue;
    emitted.add(name);
    const values = groups.get(name);
    out.push(values !== undefined && values.length > 1 ? `${name}=${values.join(',')}` : segment);
  }
  return out.join('&');
}
