/** @module What the SQLi and XSS detectors answer. */
export type SqliSensitivity = 'LOW' | 'HIGH';

export interface SqliResult {
  matched: boolean;
  /** libinjection fingerprint (token types, at most 5), e.g. "s&sos"; for HIGH-only hits see high.ts. */
  fingerprint?: string;
  /** Values of the tokens behind the fingerprint, like AWS's `matchedData`. */
  tokens?: string[];
}

export interface XssResult {
  matched: boolean;
  /** What hit the blacklist, e.g. "tag <script>" or "attribute onerror". */
  reason?: string;
}
