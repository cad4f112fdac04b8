import type { SqliResult } from '../index.js';
import type { SqliState } from './sqli.js';

/** Placeholder: filled in below once measured. */
export function highSqli(_s: string, _state: SqliState): SqliResult {
  return { matched: false };
}
