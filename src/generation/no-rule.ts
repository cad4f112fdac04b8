// The engine proposed no candidate: a normal outcome, not a crash. What it recognised about the
// vulnerability travels with the error, with the evidence that would let it write a rule, so the
// CLI (exit 3), the API (422) and the jobs (dead, with this message) can all say it.
import type { AttackClass } from '../vulns/model.js';
import { EVIDENCE_FORMATS } from './verdict.js';

export interface NoRuleFacts {
  cveId: string;
  /** The engine that answered (after any fallback). */
  engine: string;
  attackClass?: AttackClass;
  /** How the class was recognised: facts, evidence, cwe, description, default... */
  basis?: string;
  endpoints: string[];
  /** Exploit requests the engine had to learn from. */
  exploitRequests: number;
  /** The engine's own notes. */
  notes: string[];
  /** What evidence would let it write a rule, one item each. */
  needs: string[];
}

/** What would let an engine write a rule, given what it had. */
export function evidenceNeeded(
  facts: Pick<NoRuleFacts, 'attackClass' | 'basis' | 'endpoints' | 'exploitRequests' | 'notes'>,
): string[] {
  const needs: string[] = [];
  needs.push(
    facts.exploitRequests === 0
      ? `an exploit request (--evidence <file>: ${EVIDENCE_FORMATS})`
      : `more exploit requests, carrying the payload that triggers the vulnerability (--evidence <file>: ${EVIDENCE_FORMATS})`,
  );
  if (facts.endpoints.length === 0)
    needs.push(
      'the vulnerable endpoint: a record (--vuln <file>) whose exploit facts or description name its path',
    );
  if (facts.basis === 'default' || (!facts.attackClass && facts.notes.length === 0))
    needs.push('a record whose description or CWE names the attack technique');
  return needs;
}

function describe(f: NoRuleFacts): string {
  const recognised = [
    f.attackClass
      ? `attack class ${f.attackClass}${f.basis ? ` (from ${f.basis})` : ''}`
      : f.notes.length > 0
        ? f.notes.join(', ')
        : 'no attack class',
    f.endpoints.length > 0 ? `endpoints ${f.endpoints.join(', ')}` : 'no endpoint',
    `${f.exploitRequests} exploit request${f.exploitRequests === 1 ? '' : 's'}`,
  ];
  return `no rule could be written for ${f.cveId}: the ${f.engine} engine recognised ${recognised.join('; ')}, but nothing specific enough to match; it needs ${f.needs.join(', or ')}`;
}

export class NoRuleError extends Error {
  override name = 'NoRuleError';
  constructor(readonly facts: NoRuleFacts) {
    super(describe(facts));
  }
}
