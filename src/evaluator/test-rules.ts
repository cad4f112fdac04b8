// The `test` use case: evaluate a rule document against requests (and, on demand, evasion variants
// of the exploit requests) and compare with each request's expectation.
import { compileDocument, isCaught, type Decision, type EvaluateOptions } from './index.js';
import type { HttpRequest } from '../requests/model.js';
import type { WafDocument } from '../waf/schema.js';

export interface TestResult {
  id: string;
  expect?: 'block' | 'allow';
  /** The document stopped the request (blocked or challenged; a lone Count rule that matched). */
  matched: boolean;
  action: Decision['action'];
  terminatingRule: string;
  terminatingStatement?: string;
  /** The expectation was set and not met. */
  mismatch: boolean;
  /** A rule could not be judged locally (rate-based, managed group...). */
  uncertain: boolean;
  /** For evasion variants: the request it was derived from and how. */
  variantOf?: string;
  technique?: string;
  decision: Decision;
}

export interface TestSummary {
  total: number;
  matched: number;
  allowed: number;
  mismatches: number;
  uncertain: number;
  variants: number;
}

export function testRequests(
  doc: WafDocument,
  requests: Iterable<HttpRequest>,
  options: EvaluateOptions = {},
): { results: TestResult[]; summary: TestSummary } {
  const compiled = compileDocument(doc, options);
  const results: TestResult[] = [];
  for (const req of requests) {
    const decision = compiled.evaluate(req);
    const matched = isCaught(doc.kind, decision);
    const technique = req.tags?.find((t) => t.startsWith('technique:'))?.slice('technique:'.length);
    const variantOf = technique ? req.id.split('~')[0] : undefined;
    results.push({
      id: req.id,
      ...(req.expect ? { expect: req.expect } : {}),
      matched,
      action: decision.action,
      terminatingRule: decision.terminatingRule,
      ...(decision.terminatingStatement ? { terminatingStatement: decision.terminatingStatement } : {}),
      mismatch: req.expect !== undefined && (req.expect === 'block') !== matched,
      uncertain: decision.uncertain,
      ...(variantOf ? { variantOf, technique } : {}),
      decision,
    });
  }
  return {
    results,
    summary: {
      total: results.length,
      matched: results.filter((r) => r.matched).length,
      allowed: results.filter((r) => !r.matched).length,
      mismatches: results.filter((r) => r.mismatch).length,
      uncertain: results.filter((r) => r.uncertain).length,
      variants: results.filter((r) => r.variantOf).length,
    },
  };
}
