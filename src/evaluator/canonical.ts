// One string per value, equal for structurally equal values whatever the order of their object keys:
// the key of the per-process compiled-document cache and of the per-document field/chain slots.
// Unlike JSON.stringify it tells Infinity, NaN and null apart (`bodyLimit: Infinity` must not share a
// compiled document with `bodyLimit: null`). Written here rather than taken from a package because
// no stable-stringify package is a direct dependency, and it is a dozen lines.

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
      if (Array.isArray(value)) return `[${value.map((v) => canonicalKey(v, depth + 1)).join(',')}]`;
      const proto = Object.getPrototypeOf(value) as unknown;
      if (proto !== Object.prototype && proto !== null) throw new NotCanonical('not a plain object');
      const parts: string[] = [];
      for (const k of Object.keys(value).sort()) {
        const v = (value as Record<string, unknown>)[k];
        if (v !== undefined) parts.push(`${JSON.stringify(k)}:${canonicalKey(v, depth + 1)}`);
      }
      return `{${parts.join(',')}}`;
    }
    case 'undefined':
      return 'undefined';
    default:
      throw new NotCanonical(`no canonical form for a ${typeof value}`);
  }
}
