// The built-in engine: deterministic and offline. It knows attack techniques per class
// (../knowledge), learns from the evidence where the payload travels, which endpoint is hit and
// which names and tokens every exploit request carries, and proposes candidates from the broadest
// safe one (a technique signature that never occurs in ordinary traffic) to the narrowest (the
// vulnerable endpoint alone). The generation loop checks them and keeps the best.
import type { Statement } from '../../waf/model/shapes.generated.js';
import { KNOWLEDGE, type Component } from '../knowledge/index.js';
import type { Candidate, Engine, Feedback, GenerationInput, Proposal } from '../types.js';
import { classify } from './classify.js';
import { distinctive, learnEndpoints, learnTokens, looksRandom } from './learn.js';
import { locatePayload } from './locate.js';
import {
  allOf,
  anyOf,
  endpointStatement,
  headerNameStatement,
  signatureStatements,
  tokenStatement,
} from './statements.js';

const MAX_ENDPOINTS = 4;

/** Where to look: where the evidence put the payload, plus where a variant could move it. */
function componentsFor(found: ReadonlySet<Component>, defaults: readonly Component[]): Component[] {
  if (found.size === 0) return [...defaults];
  const out = new Set(found);
  // A parameter in the query can be sent in a form or JSON body instead, and the other way round.
  if (out.has('query') || out.has('args')) out.add('body');
  if (out.has('body') && (defaults.includes('query') || defaults.includes('args'))) out.add('query');
  return [...out];
}

export class BuiltinEngine implements Engine {
  readonly name = 'builtin';

  async propose(input: GenerationInput, feedback?: Feedback): Promise<Proposal> {
    const { record, exploits, benign, facts } = input;
    const { attackClass, basis } = classify(record, exploits);
    const k = KNOWLEDGE[attackClass];
    const located = exploits.length > 0 ? locatePayload(k, exploits) : new Map<Component, Set<string>>();
    const components = componentsFor(new Set(located.keys()), k.components);
    const endpoints = (
      exploits.length > 0
        ? learnEndpoints(exploits, benign)
        : facts.endpoints
            .map((e) => e.toLowerCase().replace(/\*.*$/, '').replace(/\/+$/, '') || '/')
            .filter((e) => distinctive(e, benign))
    ).slice(0, MAX_ENDPOINTS);
    const endpoint = endpoints.length > 0 ? anyOf(endpoints.map(endpointStatement)) : undefined;

    const signature = (oversize: 'MATCH' | 'CONTINUE'): Statement | undefined => {
      const statements = k.signatures.flatMap((s) => signatureStatements(s, components, { oversize }));
      return statements.length > 0 ? anyOf(statements) : undefined;
    };
    const learned = learnTokens(exploits, benign);
    const factTokens = facts.payloadTokens
      .map((t) => t.toLowerCase())
      .filter((t) => t.length >= 4 && !looksRandom(t))
      .flatMap((t) => (['query', 'body'] as const).map((component) => ({ token: t, component })));
    const tokenStatements: Statement[] = [
      ...learned.tokens.map((t) => tokenStatement(t.token, t.component, { oversize: 'MATCH' })),
      ...factTokens.map((t) => tokenStatement(t.token, t.component, { oversize: 'MATCH' })),
    ];
    const requiredNames: Statement[] = [
      ...learned.params
        .filter((p) => !looksRandom(p))
        .slice(0, 2)
        .flatMap((p) => [
          tokenStatement(`${p}=`, 'query', { oversize: 'MATCH' }),
          tokenStatement(`${p}=`, 'body', { oversize: 'MATCH' }),
        ]),
      ...learned.headers.slice(0, 2).map(headerNameStatement),
    ];

    const candidates: Candidate[] = [];
    const add = (strategy: string, statement: Statement | undefined) => {
      if (statement) candidates.push({ statement, strategy, attackClass });
    };
    const unscoped = signature('CONTINUE');
    const scoped = signature('MATCH');
    if (k.unscoped) add('signature', unscoped);
    if (endpoint && scoped) add('endpoint+signature', allOf([endpoint, scoped]));
    if (endpoint && tokenStatements.length > 0)
      add('endpoint+tokens', allOf([endpoint, anyOf(tokenStatements)]));
    if (endpoint && scoped && tokenStatements.length > 0)
      add('endpoint+(signature|tokens)', allOf([endpoint, anyOf([scoped, ...tokenStatements])]));
    if (endpoint && requiredNames.length > 0) add('endpoint+names', allOf([endpoint, anyOf(requiredNames)]));
    if (!k.unscoped) add('signature', unscoped);
    if (endpoint) add('endpoint', endpoint);
    if (!endpoint && tokenStatements.length > 0) add('tokens', anyOf(tokenStatements));

    // Second attempt: cover what no single candidate covered by OR-ing the ones that block nothing
    // benign (the loop reports which evidence each missed).
    if (feedback && candidates.length > 1) {
      const pieces = candidates.filter((c) => c.strategy !== 'endpoint').map((c) => c.statement);
      add('union', anyOf(pieces.slice(0, 4)));
    }

    const notes = [`attack class ${attackClass} (from ${basis})`];
    if (endpoints.length > 0)
      notes.push(`endpoint${endpoints.length > 1 ? 's' : ''}: ${endpoints.join(', ')}`);
    if (located.size > 0) notes.push(`payload found in: ${[...located.keys()].join(', ')}`);
    if (learned.tokens.length > 0)
      notes.push(`tokens learned: ${learned.tokens.map((t) => t.token).join(', ')}`);
    const confidence = exploits.length > 0 ? (basis === 'default' ? 'medium' : 'high') : 'low';
    return { candidates, confidence, notes };
  }
}
