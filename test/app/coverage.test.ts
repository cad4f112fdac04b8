// Coverage by severity for the quality dashboard (issue 15, item 5): from the embedded store, per
// severity, the CVEs known and those whose latest deployment left a proven rule version in place.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { coverageBySeverity, coverageProbe } from '../../src/app/coverage.js';
import { auditHistory } from '../../src/deploy/history.js';
import type { Store } from '../../src/store/index.js';
import { openTestStore } from '../service/support.js';

let store: Store;
beforeAll(async () => {
  ({ store } = await openTestStore());
}, 60_000);
afterAll(() => store?.close());

const rule = (name: string) => ({
  Name: name,
  Priority: 1,
  Action: { Block: {} },
  VisibilityConfig: { SampledRequestsEnabled: true, CloudWatchMetricsEnabled: true, MetricName: name },
  Statement: {
    ByteMatchStatement: {
      SearchString: 'x',
      FieldToMatch: { UriPath: {} },
      TextTransformations: [{ Priority: 0, Type: 'NONE' }],
      PositionalConstraint: 'CONTAINS',
    },
  },
});

async function save(cveId: string, verdict: 'proven' | 'failed', n: number): Promise<number> {
  const saved = await store.rules.saveVersion(cveId, {
    rule: rule(`r-${cveId}-${n}`),
    inputsHash: `${cveId}-${n}`,
    engine: 'builtin',
    report: { verdict, passed: verdict === 'proven' },
  });
  return saved.version;
}

async function deploy(cveId: string, version: number | undefined, removed = false): Promise<void> {
  await auditHistory(store.audit).record({
    operation: removed ? 'rollback' : 'deploy',
    target: 'arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/prod/1',
    targetKind: 'web-acl',
    targetName: 'prod',
    scope: 'REGIONAL',
    ruleName: `r-${cveId}`,
    cveId,
    ...(version !== undefined ? { version } : {}),
    ...(removed ? { removed: true } : {}),
    attempts: 1,
  });
}

describe('coverage by severity', () => {
  it('counts CVEs per severity and those with a deployed, proven rule', async () => {
    const before = await coverageBySeverity(store);
    const critical = before.find((c) => c.severity === 'critical')!;
    const high = before.find((c) => c.severity === 'high')!;
    expect(critical.cves).toBeGreaterThan(5);
    expect(critical.protected).toBe(0);

    const crit = (await store.vulns.list({ severity: 'critical', limit: 3 })).map((v) => v.id);
    const hi = (await store.vulns.list({ severity: 'high', limit: 1 })).map((v) => v.id);
    // Deployed and proven: counts.
    await deploy(crit[0]!, await save(crit[0]!, 'proven', 1));
    // Deployed but not proven: does not.
    await deploy(crit[1]!, await save(crit[1]!, 'failed', 1));
    // Proven and deployed, then removed: does not.
    await deploy(crit[2]!, await save(crit[2]!, 'proven', 1));
    await deploy(crit[2]!, undefined, true);
    // A high CVE: a failed version deployed, then a proven one: the latest deployment counts.
    await deploy(hi[0]!, await save(hi[0]!, 'failed', 1));
    await deploy(hi[0]!, await save(hi[0]!, 'proven', 2));

    const after = await coverageBySeverity(store);
    expect(after.find((c) => c.severity === 'critical')).toEqual({ ...critical, protected: 1 });
    expect(after.find((c) => c.severity === 'high')).toEqual({ ...high, protected: 1 });
  });

  it('the probe answers scrapes from memory for a minute', async () => {
    let now = 0;
    const probe = coverageProbe(store, () => now);
    const a = probe();
    expect(probe()).toBe(a);
    now = 61_000;
    expect(probe()).not.toBe(a);
    expect(await a).toEqual(await probe());
  });
});
