// Detectors behind AWS WAF's SqliMatchStatement and XssMatchStatement.
//
// AWS does not publish its detection logic, but its log records (`matchedData` such as
// ["10","AND","1"] for `10 AND 1=1`) are consistent with libinjection, so LOW and the XSS detector are
// a TypeScript port of libinjection 3.9.2 (BSD-3-Clause, see ./NOTICE). Inputs are byte strings (see
// ../bytes.ts) after AWS's text transformations.
//
// SensitivityLevel HIGH is libinjection's verdict plus the extra signatures in ./sqli/high.ts; see
// the table there for exactly what it adds.

import { highSqli } from './sqli/high.js';
import { sqliScratch } from './sqli/sqli.js';
import { libinjectionXss } from './xss/xss.js';

import type { SqliResult, SqliSensitivity, XssResult } from './types.js';

export type { SqliResult, SqliSensitivity, XssResult };

/** Largest input inspected, in bytes. AWS itself inspects at most 8-64 KB of a body. */
const MAX_DETECT_INPUT = 1 << 20;

function clip(input: string): string {
  return input.length > MAX_DETECT_INPUT ? input.slice(0, MAX_DETECT_INPUT) : input;
}

/**
 * SQL injection check on one byte string. LOW is libinjection's verdict; HIGH adds the signatures in
 * ./sqli/high.ts. Linear in the input length and never throws.
 */
export function detectSqli(input: string, level: SqliSensitivity = 'LOW'): SqliResult {
  try {
    const s = clip(input);
    const state = sqliScratch(s);
    if (state.isSqli()) {
      return { matched: true, fingerprint: state.fingerprint, tokens: state.tokenValues() };
    }
    if (level === 'HIGH') return highSqli(s);
    return { matched: false };
  } catch {
    return { matched: false };
  }
}

/** Cross-site scripting check on one byte string (libinjection_xss). Linear and never throws. */
export function detectXss(input: string): XssResult {
  try {
    return libinjectionXss(clip(input));
  } catch {
    return { matched: false };
  }
}
