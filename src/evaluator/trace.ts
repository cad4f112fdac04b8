// What the evaluator tells about a decision: every statement it judged, with the field, the value
// after transformations, the offset of a match and why.

/** true / false, or 'unknown' for what cannot be judged from one request (rate-based, managed groups...). */
export type Verdict = boolean | 'unknown';

export interface StatementTrace {
  /** JSON path of the statement inside the rule document. */
  path: string;
  statement: string;
  verdict: Verdict;
  /** Where the deciding value came from (`header:user-agent`, `query-arg:id`, `body`...). */
  where?: string;
  /** The inspected value after transformations (truncated for display). */
  value?: string;
  /** Byte offset of the match in the transformed value. */
  offset?: number;
  transformations?: string[];
  reason?: string;
}

export const excerpt = (value: string, at = 0, width = 120): string => {
  const start = Math.max(0, Math.min(at - 20, value.length - width));
  const s = value.slice(start, start + width);
  return (start > 0 ? '…' : '') + s + (start + width < value.length ? '…' : '');
};
