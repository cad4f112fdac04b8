// Store export/import on the DynamoDB store (dynalite on a loopback port): an embedded store's export
// imports into DynamoDB, exports again with the same lines in the same order, imports back into a
// fresh embedded store that exports exactly the original text; re-importing changes nothing, and a
// rule version that differs is reported and kept.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { exportStore, importStore } from '../../../src/store/backup/index.js';
import { openStore, type Store } from '../../../src/store/index.js';
import { startDynalite, type LocalDynamo } from '../dynalite.js';
import { seedStore } from './fixtures.js';

const NOW = () => new Date('2025-01-01T00:00:00.000Z');

async function exportText(store: Store): Promise<string> {
  const out = new PassThrough();
  let text = '';
  out.on('data', (c: Buffer) => (text += c.toString('utf8')));
  await exportStore(store, out, { now: NOW });
  out.end();
  return text;
}

const importText = (store: Store, text: string) => importStore(store, Readable.from([text]));
const parsed = (text: string) =>
  text
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as unknown);

let local: LocalDynamo;
let embedded: Store;
let dynamo: Store;
let exported: string;

beforeAll(async () => {
  local = await startDynalite();
  [embedded, dynamo] = await Promise.all([
    openStore({ dataDir: mkdtempSync(join(tmpdir(), 'wafgen-backup-e-')) }),
    openStore({ dataDir: '/nonexistent', dynamodb: local.options() }),
  ]);
  await seedStore(embedded);
  exported = await exportText(embedded);
}, 60_000);

afterAll(async () => {
  await Promise.all([embedded?.close(), dynamo?.close()]);
  await local?.close();
});

describe('store export and import on DynamoDB', () => {
  it('imports an export, and exports the same lines in the same order', async () => {
    const summary = await importText(dynamo, exported);
    expect(summary.errors).toEqual([]);
    expect(summary.counts).toEqual({
      vulnerability: { inserted: 2, updated: 0, unchanged: 0 },
      evidence: { inserted: 2, updated: 0, unchanged: 0 },
      rule: { inserted: 3, updated: 0, unchanged: 0 },
      audit: { inserted: 3, updated: 0, unchanged: 0 },
    });
    const again = await exportText(dynamo);
    // Same values line by line (jsonb on the SQL side orders object keys its own way).
    expect(parsed(again)).toEqual(parsed(exported));
    expect(await dynamo.rules.versions('CVE-2021-44228')).toEqual(
      await embedded.rules.versions('CVE-2021-44228'),
    );
    expect(await dynamo.vulns.get('CVE-2023-0001')).toEqual(await embedded.vulns.get('CVE-2023-0001'));
    expect(again).toContain('NUL \\u0000 and a lone surrogate \\ud800 end');
  });

  it('is idempotent, continues version numbers, and round-trips back to an embedded store exactly', async () => {
    const second = await importText(dynamo, exported);
    expect(second.errors).toEqual([]);
    for (const c of Object.values(second.counts)) expect(c.inserted + c.updated).toBe(0);

    const fromDynamo = await exportText(dynamo);
    const fresh = await openStore({ dataDir: mkdtempSync(join(tmpdir(), 'wafgen-backup-f-')) });
    try {
      expect((await importText(fresh, fromDynamo)).errors).toEqual([]);
      expect(await exportText(fresh)).toBe(exported);
    } finally {
      await fresh.close();
    }
    expect(
      await dynamo.rules.saveVersion('CVE-2021-44228', {
        rule: { Name: 'v3' },
        inputsHash: 'n',
        engine: 'b',
        report: {},
      }),
    ).toMatchObject({ version: 3, created: true });
  }, 60_000);

  it('reports a rule version that differs from the stored one and keeps the stored one', async () => {
    const header = exported.split('\n')[0];
    const summary = await importText(
      dynamo,
      [
        header,
        '{"type":"rule","cveId":"CVE-2021-44228","version":1,"rule":{"Name":"other"},"inputsHash":"h","engine":"e","report":{},"createdAt":"2024-01-01T00:00:00.000Z"}',
        '{"type":"audit","at":"2024-01-01T00:00:00.000Z","eventType":"manual","data":{}}',
      ].join('\n'),
    );
    expect(summary.errors).toEqual([
      {
        line: 2,
        message: 'rule: rule CVE-2021-44228 v1 differs from the stored version 1; the stored one is kept',
      },
    ]);
    expect(summary.counts.audit.inserted).toBe(1);
    expect((await dynamo.rules.get('CVE-2021-44228', 1))?.inputsHash).toBe('hash-1');
  });
});
