// header-case: every header name lower-cased, then upper-cased. HTTP header names are case-insensitive
// (HTTP/2 even lower-cases them on the wire), and so is AWS WAF's SingleHeader match; a rule that
// compares names or header order case-sensitively misses.

import { asciiLower } from '../../requests/model.js';
import { draftOf } from '../parts.js';
import type { VariantTechnique } from '../types.js';

export const headerCase: VariantTechnique = {
  name: 'header-case',
  description: 'header names all lower-case, then all upper-case',
  derive(req) {
    const lower = draftOf(req, 'lower');
    lower.headers = lower.headers.map(([n, v]) => [asciiLower(n), v]);
    const upper = draftOf(req, 'upper');
    upper.headers = upper.headers.map(([n, v]) => [n.replace(/[a-z]+/g, (s) => s.toUpperCase()), v]);
    return [lower, upper];
  },
};
