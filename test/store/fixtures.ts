// Records the store tests import. Each test uses its own CVE ids so one store serves the whole file.
import type { VulnRecordInput } from '../../src/vulns/model.js';

export function vuln(id: string, extra: Partial<VulnRecordInput> = {}): VulnRecordInput {
  return {
    id,
    description: `Description of ${id}`,
    source: 'nvd',
    fetchedAt: '2024-05-01T00:00:00.000Z',
    ...extra,
  };
}

/** The bundled record of the contested CVE: KEV, exploit facts, an older modified date. */
export const contestedBundled: VulnRecordInput = {
  id: 'CVE-2023-46604',
  title: 'Apache ActiveMQ OpenWire deserialization',
  description: 'Bundled description.',
  cwes: ['CWE-502'],
  severity: 'critical',
  vendor: 'apache',
  product: 'activemq',
  kev: true,
  kevDateAdded: '2023-11-02',
  modified: '2023-11-01T00:00:00.000Z',
  source: 'bundled',
  fetchedAt: '2024-01-01T00:00:00.000Z',
  tags: ['bundled'],
  exploit: { attackClass: 'deserialization', payloadTokens: ['ClassPathXmlApplicationContext'] },
};

/** The NVD record of the same CVE: newer, richer, not KEV-flagged, no exploit facts. */
export const contestedNvd: VulnRecordInput = {
  id: 'cve-2023-46604',
  description: 'The Java OpenWire protocol marshaller is vulnerable to Remote Code Execution.',
  cwes: ['CWE-502'],
  cvss: { score: 10, vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H', version: '3.1' },
  severity: 'critical',
  cpes: ['cpe:2.3:a:apache:activemq:*:*:*:*:*:*:*:*'],
  references: ['https://activemq.apache.org/security-advisories.data/CVE-2023-46604'],
  published: '2023-10-27T15:15:14.017',
  modified: '2024-06-27T15:15:14.017',
  source: 'nvd',
  fetchedAt: '2024-07-01T00:00:00.000Z',
  tags: ['nvd'],
};

/** What the store must hold after both, in either order. */
export const contestedMerged = {
  id: 'CVE-2023-46604',
  title: 'Apache ActiveMQ OpenWire deserialization',
  description: 'The Java OpenWire protocol marshaller is vulnerable to Remote Code Execution.',
  cvss: { score: 10, vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H', version: '3.1' },
  vendor: 'apache',
  product: 'activemq',
  kev: true,
  kevDateAdded: '2023-11-02',
  modified: '2024-06-27T15:15:14.017',
  source: 'nvd',
  fetchedAt: '2024-07-01T00:00:00.000Z',
  tags: ['nvd', 'bundled'],
  exploit: {
    attackClass: 'deserialization',
    payloadTokens: ['ClassPathXmlApplicationContext'],
    endpoints: [],
    parameters: [],
    methods: [],
    headers: [],
  },
};

/** Other CVEs both importers carry, so their batches overlap and contend for the same rows. */
export const fleet: VulnRecordInput[] = Array.from({ length: 60 }, (_, i) =>
  vuln(`CVE-2022-${String(20000 + i)}`, { severity: i % 2 ? 'high' : 'medium' }),
);
