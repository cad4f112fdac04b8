// One string per value, equal for structurally equal values whatever the order of their object keys:
// the key of the per-process compiled-document cache and of the per-document field/chain slots.
// Unlike JSON.stringify it tells Infinity, NaN and null apart (`bodyLimit: Infinity` must not share a
// compiled document with `bodyLimit: null`). Written here rather than taken from a package because
// no stable-stringify package is a direct dependency, and it is a few dozen lines (written for
// allocation, below).

/** Thrown for a value with no canonical form (a function, a Map, a class instance...) or nested too deep. */
class NotCanonical extends Error {}

/**
 * Deeper than any document the evaluator accepts (64 statement levels, at most three objects each),
 * so the recursion stays far from the stack limit on hostile input.
 */
const MAX_DEPTH = 256;

export function canonicalKey(value: unknown, depth = 0): string {
  if (depth > MAX_DEPTH) throw new NotCanonical('nested too deep');
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      // Finite numbers as JSON writes them; the others unquoted, so no string can look like them.
      return Number.isFinite(value) ? JSON.stringify(value) : `#${value}`;
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (value === null) return 'null';
      // One string grown in place, no array of parts to join, and the keys sorted in place: the
      // generation loop keys every candidate and probe document it compiles, and this function was
      // a fifth of what a built-in generation allocated, mostly parts arrays, joins and Array#sort's
      // scratch space (`npm run bench:generate -- --profile alloc`, 206 generations of the bundled
      // CVEs: 2.11 MB a rule, 0.41 of them here; 1.77 and 0.12 MB since).
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i++) {
          if (i > 0) out += ',';
          out += canonicalKey(value[i], depth + 1);
        }
        return `${out}]`;
      }
      const proto = Object.getPrototypeOf(value) as unknown;
      if (proto !== Object.prototype && proto !== null) throw new NotCanonical('not a plain object');
      const keys = sortInPlace(Object.keys(value));
      let out = '{';
      for (const k of keys) {
        const v = (value as Record<string, unknown>)[k];
        if (v === undefined) continue;
        if (out.length > 1) out += ',';
        out += `${JSON.stringify(k)}:${canonicalKey(v, depth + 1)}`;
      }
      return `${out}}`;
    }
    case 'undefined':
      return 'undefined';
    default:
      throw new NotCanonical(`no canonical form for a ${typeof value}`);
  }
}

/**
 * Sorts strings in place in code-unit order, as Array#sort with no comparator does: insertion sort
 * for the few keys of a WAF document's objects (no scratch array), Array#sort above 16.
 */
function sortInPlace(keys: string[]): string[] {
  if (keys.length > 16) return keys.sort();
  for (let i = 1; i < keys.length; i++) {
    const k = keys[i]!;
    let j = i - 1;
    while (j >= 0 && keys[j]! > k) {
      keys[j + 1] = keys[j]!;
      j--;
    }
    keys[j + 1] = k;
  }
  return keys;
}
