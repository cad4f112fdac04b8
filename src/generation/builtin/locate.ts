// Where the payload travels: for each component a class inspects, does its signature fire on the
// exploit requests? Answered with the real evaluator, so what is found is what AWS would see.
import { compileDocument } from '../../engine/evaluate/index.js';
import type { HttpRequest } from '../../engine/request/model.js';
import type { Statement } from '../../waf/model/shapes.generated.js';
import type { ClassKnowledge, Component } from '../knowledge/index.js';
import { anyOf, signatureStatements } from './statements.js';

const probeRule = (Statement: Statement) => ({
  Name: 'probe',
  Priority: 0,
  Statement,
  Action: { Block: {} },
  VisibilityConfig: { SampledRequestsEnabled: false, CloudWatchMetricsEnabled: false, MetricName: 'probe' },
});

export const ALL_COMPONENTS: readonly Component[] = ['path', 'query', 'args', 'body', 'headers', 'cookies'];

/** Components where the class signature fires, and the requests it fires on per component. */
export function locatePayload(
  knowledge: ClassKnowledge,
  exploits: readonly HttpRequest[],
): Map<Component, Set<string>> {
  const found = new Map<Component, Set<string>>();
  for (const component of ALL_COMPONENTS) {
    const statements = knowledge.signatures.flatMap((s) =>
      signatureStatements(s, [component], { oversize: 'CONTINUE' }),
    );
    if (statements.length === 0) continue;
    const compiled = compileDocument({ kind: 'rule', rule: probeRule(anyOf(statements)) }, { trace: false });
    const hits = new Set(exploits.filter((r) => compiled.evaluate(r).action === 'BLOCK').map((r) => r.id));
    if (hits.size > 0) found.set(component, hits);
  }
  return found;
}
