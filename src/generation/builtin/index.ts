// The built-in engine: deterministic and offline. It knows attack techniques per class
// (../knowledge), learns from the evidence where the payload travels, which endpoint is hit and
// which names and tokens every exploit request carries, and proposes candidates in order of
// preference: a technique signature that never occurs in ordinary traffic, the same scoped to the
// vulnerable endpoint, endpoint plus learned tokens, down to the vulnerable endpoint alone. The
// generation loop checks them all and keeps the best.
import { requestSet } from '../../evaluator/index.js';
import type { HttpRequest } from '../../requests/model.js';
import type { Statement } from '../../waf/model/shapes.generated.js';
import { KNOWLEDGE, type Component } from '../knowledge/index.js';
import type { Candidate, Engine, Feedback, GenerationInput, Proposal } from '../types.js';
import { classify } from './classify.js';
import {
  distinctive,
  learnEndpoints,
  learnRoutes,
  learnTokens,
  looksRandom,
  prepareBenignView,
} from './learn.js';
import { locatePayload, type Located } from './locate.js';
import {
  allOf,
  anyOf,
  splitAlternatives,
  endpointStatement,
  headerNameStatement,
  signatureStatements,
  tokenStatement,
} from './statements.js';

const MAX_ENDPOINTS = 4;

/**
 * Where to look: everywhere the class's payloads travel, plus wherever the evidence found it, plus
 * where a variant could move it (a query parameter can be sent in a form or JSON body instead).
 */
function widen(components: Iterable<Component>): Component[] {
  const out = new Set<Component>(components);
  if (out.has('query') || out.has('args')) out.add('body');
  if (out.has('body')) out.add('query');
  return [...out];
}

/** Only the regexes that fired, in the components they fired in (and where a variant could move them). */
function locatedStatements(located: readonly Located[], oversize: 'MATCH' | 'CONTINUE'): Statement[] {
  const out: Statement[] = [];
  const seen = new Set<string>();
  for (const l of located) {
    for (const component of widen([l.component])) {
      for (const s of signatureStatements(l.signature, [component], { oversize })) {
        const key = JSON.stringify(s);
        if (!seen.has(key)) out.push(s);
        seen.add(key);
      }
    }
  }
  return out;
}

/**
 * The statements that block none of the benign requests. Without evidence there is no endpoint to
 * scope a technique to; what is left is to inspect only where ordinary traffic never shows it (shell
 * syntax in a query string, not in a forum post about bash).
 */
function benignSafe(statements: readonly Statement[], benign: readonly HttpRequest[]): Statement[] {
  const hits = (s: Statement, requests: readonly HttpRequest[]) => requestSet(requests).matching(s);
  // A regex is judged one alternative at a time: `/etc/hosts` in a search box costs that one
  // alternative in the query string, not the whole traversal signature. An alternative can only
  // match what the whole regex matched, so only those requests are tried again.
  return statements.flatMap((s) => {
    const blocked = hits(s, benign);
    if (blocked.length === 0) return [s];
    const r = s.RegexMatchStatement;
    if (!r) return [];
    return splitAlternatives(r.RegexString)
      .map((RegexString) => ({ RegexMatchStatement: { ...r, RegexString } }))
      .filter((alt) => hits(alt, blocked).length === 0);
  });
}

export class BuiltinEngine implements Engine {
  readonly name = 'builtin';

  /** The decoded view of the benign traffic the learners compare exploits with (learn.ts). */
  prepare(benign: readonly HttpRequest[]): void {
    prepareBenignView(benign);
  }

  async propose(input: GenerationInput, feedback?: Feedback): Promise<Proposal> {
    const { record, exploits, benign, facts } = input;
    const { attackClass, basis, alternatives } = classify(record, exploits);
    const k = KNOWLEDGE[attackClass];
    const located = exploits.length > 0 ? locatePayload(k, exploits) : [];
    const components = widen([...k.components, ...located.map((l) => l.component)]);
    const fromFacts = facts.endpoints
      .map((e) => e.toLowerCase().replace(/\*.*$/, '').replace(/\/+$/, ''))
      .filter((e) => e.startsWith('/') && distinctive(e, benign));
    const endpoints = (exploits.length > 0 ? learnEndpoints(exploits, benign) : fromFacts).slice(
      0,
      MAX_ENDPOINTS,
    );
    // Applications that route by a query parameter (`?rest_route=/plugin/v1/items`,
    // `?service=page/Setup`): the route names the handler where the path (`/`, `/app`) does not.
    const routes = endpoints.length === 0 && exploits.length > 0 ? learnRoutes(exploits, benign) : [];
    const endpointStatements = [
      ...endpoints.map(endpointStatement),
      // …also when a variant sends it in a form body (inspected as far as AWS reads a body: an
      // upload over the limit is not a request to this route).
      ...routes.flatMap((r) => [
        tokenStatement(r, 'query', { oversize: 'MATCH' }),
        tokenStatement(r, 'body', { oversize: 'CONTINUE' }),
      ]),
    ].filter((s): s is Statement => s !== undefined);
    const endpoint = endpointStatements.length > 0 ? anyOf(endpointStatements) : undefined;

    const signature = (oversize: 'MATCH' | 'CONTINUE'): Statement | undefined => {
      const statements = k.signatures.flatMap((s) => signatureStatements(s, components, { oversize }));
      return statements.length > 0 ? anyOf(statements) : undefined;
    };
    const narrow = (oversize: 'MATCH' | 'CONTINUE'): Statement | undefined => {
      const statements = locatedStatements(located, oversize);
      return statements.length > 0 ? anyOf(statements) : undefined;
    };
    const learned = learnTokens(exploits, benign);
    // A few tokens are enough (each costs two statements); more only buys WCU.
    const factTokens = facts.payloadTokens
      .map((t) => t.toLowerCase())
      .filter((t) => t.length >= 4 && !looksRandom(t))
      .slice(0, 3)
      .flatMap((t) => (['query', 'body'] as const).map((component) => ({ token: t, component })));
    const tokenStatements: Statement[] = [...learned.tokens.slice(0, 3), ...factTokens].flatMap((t) =>
      // A token seen in the query or the body may travel in the other one in a variant.
      (t.component === 'headers' ? ['headers' as const] : (['query', 'body'] as const)).map((component) =>
        tokenStatement(t.token, component, { oversize: 'MATCH' }),
      ),
    );
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
    // No evidence to learn from: when the record plausibly means more than one technique (an "auth
    // bypass RCE", a CWE shared by JNDI and OGNL), the first proposal covers them all; the checks
    // fall back to the best-scoring class alone when the union blocks ordinary traffic.
    const others = exploits.length === 0 ? alternatives.slice(0, 2) : [];
    // Without evidence, once the whole signatures blocked ordinary traffic (the previous attempt's
    // checks say so), the next attempt keeps only the parts of them that never do.
    const prune = (feedback?.previous.checks.benign.blocked ?? 0) > 0;
    if (others.length > 0) {
      const statements = [attackClass, ...others].flatMap((c) =>
        KNOWLEDGE[c].signatures.flatMap((s) =>
          signatureStatements(s, widen(KNOWLEDGE[c].components), { oversize: 'CONTINUE' }),
        ),
      );
      const label = [attackClass, ...others].join(' + ');
      if (statements.length > 0) add(`signature (${label})`, anyOf(statements));
      if (prune) {
        const safe = benignSafe(statements, benign);
        if (safe.length > 0) add(`signature (${label}; where benign traffic never has it)`, anyOf(safe));
      }
    }
    if (k.unscoped) {
      add('signature', signature('CONTINUE'));
      add('located-signature', narrow('CONTINUE'));
    } else {
      // Signatures that are safe anywhere on their own (e.g. `..` in a path for an auth bypass).
      const safe = locatedStatements(
        located.filter((l) => l.signature.unscoped),
        'CONTINUE',
      );
      if (safe.length > 0) add('located-safe-signature', anyOf(safe));
    }
    if (endpoint) {
      const scopedNarrow = narrow('MATCH');
      const scopedAll = signature('MATCH');
      if (scopedNarrow) add('endpoint+located-signature', allOf([endpoint, scopedNarrow]));
      if (scopedAll) add('endpoint+signature', allOf([endpoint, scopedAll]));
      if (tokenStatements.length > 0) add('endpoint+tokens', allOf([endpoint, anyOf(tokenStatements)]));
      if (requiredNames.length > 0) add('endpoint+names', allOf([endpoint, anyOf(requiredNames)]));
    }
    if (!k.unscoped) {
      // No endpoint to scope to (or scoping failed): the technique where it was seen, then anywhere.
      add('located-signature', narrow('CONTINUE'));
      add('signature', signature('CONTINUE'));
    }
    if (endpoint) add('endpoint', endpoint);
    if (!endpoint && tokenStatements.length > 0) add('tokens', anyOf(tokenStatements));
    if (prune && exploits.length > 0) {
      // With evidence too: a technique signature that fired on ordinary traffic keeps the parts that
      // never do (`unix:…|` of a mod_proxy SSRF survives, `http://localhost` in an OAuth callback goes).
      for (const c of [...candidates]) {
        if (c.statement.AndStatement) continue;
        const parts = c.statement.OrStatement?.Statements ?? [c.statement];
        const safe = benignSafe(parts, benign);
        if (safe.length > 0 && JSON.stringify(safe) !== JSON.stringify(parts))
          add(`${c.strategy} (where benign traffic never has it)`, anyOf(safe));
      }
    }
    if (prune && exploits.length === 0) {
      // Last resort without evidence: the technique only where ordinary traffic never carries it.
      const all = k.signatures.flatMap((s) => signatureStatements(s, components, { oversize: 'CONTINUE' }));
      const safe = benignSafe(all, benign);
      if (safe.length > 0) add('signature (where benign traffic never has it)', anyOf(safe));
    }
    // Later attempts: cover what no single candidate covered by OR-ing the specific ones.
    if (feedback && candidates.length > 1) {
      const pieces = candidates.filter((c) => c.strategy !== 'endpoint').map((c) => c.statement);
      add('union', anyOf(pieces.slice(0, 3)));
    }

    const notes = [
      `attack class ${attackClass} (from ${basis})${others.length > 0 ? `; also plausible: ${others.join(', ')}` : ''}`,
    ];
    if (endpoints.length > 0)
      notes.push(`endpoint${endpoints.length > 1 ? 's' : ''}: ${endpoints.join(', ')}`);
    if (routes.length > 0) notes.push(`route parameter${routes.length > 1 ? 's' : ''}: ${routes.join(', ')}`);
    if (located.length > 0)
      notes.push(`payload found in: ${[...new Set(located.map((l) => l.component))].join(', ')}`);
    if (learned.tokens.length > 0)
      notes.push(`tokens learned: ${learned.tokens.map((t) => t.token).join(', ')}`);
    const confidence = exploits.length > 0 ? (basis === 'default' ? 'medium' : 'high') : 'low';
    return { candidates, confidence, notes, recognised: { attackClass, basis, endpoints } };
  }
}
