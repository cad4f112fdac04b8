// The CLI: wafgen export [--output FILE], wafgen import --store FILE, wafgen archive; one-line errors
// and exit 2 on bad input.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { runCli } from '../../support/cli.js';
import { useTempDataDir } from '../../support/env.js';
import { startFakeS3, type FakeS3 } from '../../support/fake-aws/s3.js';

const dataDirA = useTempDataDir('wafgen-backup-cli-a-', {
  AWS_ACCESS_KEY_ID: 'AKIDLOCALTEST',
  AWS_SECRET_ACCESS_KEY: 'local-test-secret-key',
  AWS_EC2_METADATA_DISABLED: 'true',
});
const dataDirB = mkdtempSync(join(tmpdir(), 'wafgen-backup-cli-b-'));
const work = mkdtempSync(join(tmpdir(), 'wafgen-backup-cli-files-'));
const withoutHeader = (text: string) => text.split('\n').slice(1).join('\n');

let s3: FakeS3;
beforeAll(async () => {
  s3 = await startFakeS3();
  s3.createBucket('wafgen-rules');
});
afterAll(async () => {
  await s3?.close();
  process.env.WAFGEN_DATA_DIR = dataDirA;
});

describe('wafgen export / import --store', () => {
  const file = join(work, 'store.jsonl');

  it('exports the store to a file and to stdout', async () => {
    expect((await runCli(['list', '--limit', '1'])).code).toBe(0); // seeds the bundled records
    const r = await runCli(['export', '--output', file]);
    expect(r).toMatchObject({ code: 0, stdout: '' });
    expect(r.stderr).toMatch(/record\(s\).*rule version\(s\).*audit event\(s\)\n$/);
    const text = readFileSync(file, 'utf8');
    const header = JSON.parse(text.split('\n')[0]!) as { type: string; counts: { vulnerability: number } };
    expect(header.type).toBe('header');
    expect(header.counts.vulnerability).toBeGreaterThan(0);
    const stdout = await runCli(['export']);
    expect(stdout.code).toBe(0);
    expect(withoutHeader(stdout.stdout)).toBe(withoutHeader(text));
  }, 60_000); // three commands, each opening the embedded store

  it('restores the export into another store, idempotently', async () => {
    process.env.WAFGEN_DATA_DIR = dataDirB;
    const first = await runCli(['import', '--store', file]);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(
      /vulnerability \d+ new, 0 updated, 0 unchanged; .* 0 bad line\(s\) skipped\n$/,
    );
    const again = await runCli(['import', '--store', file, '--json']);
    expect(again.code).toBe(0);
    const [summary] = JSON.parse(again.stdout) as { counts: Record<string, { inserted: number }> }[];
    expect(Object.values(summary!.counts).every((c) => c.inserted === 0)).toBe(true);
    const exported = await runCli(['export']);
    expect(withoutHeader(exported.stdout)).toBe(withoutHeader(readFileSync(file, 'utf8')));
  }, 60_000); // three commands, each opening the embedded store

  it('reports bad lines with their numbers and exits 1', async () => {
    const bad = join(work, 'bad.jsonl');
    writeFileSync(bad, `${readFileSync(file, 'utf8').split('\n')[0]}\n{oops\n`);
    const r = await runCli(['import', '--store', bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`${bad}: line 2: is not valid JSON\n`);
  });

  it('ends with one line and exit 2 on bad input', async () => {
    const missing = await runCli(['import', '--store', join(work, 'missing.jsonl')]);
    expect(missing).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/^wafgen: cannot read .*ENOENT\n$/),
    });
    const notExport = join(work, 'records.json');
    writeFileSync(notExport, '{"id":"CVE-2021-44228"}\n');
    const wrong = await runCli(['import', '--store', notExport]);
    expect(wrong).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/^wafgen: .*not a wafgen store export[^\n]*\n$/),
    });
    const unwritable = await runCli(['export', '--output', join(work, 'no', 'such', 'dir.jsonl')]);
    expect(unwritable).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/^wafgen: cannot write .*ENOENT\n$/),
    });
  });
});

describe('wafgen archive', () => {
  it('rejects bad options with exit 2', async () => {
    for (const args of [
      ['archive'],
      ['archive', '--bucket', 'Bad_Bucket'],
      ['archive', '--bucket', 'wafgen-rules', '--region', 'moon'],
      ['archive', '--bucket', 'wafgen-rules', '--endpoint', 'ftp://x'],
    ]) {
      const r = await runCli(args);
      expect(r.code, args.join(' ')).toBe(2);
    }
  });

  it('archives the rule versions to an S3-compatible endpoint', async () => {
    process.env.WAFGEN_DATA_DIR = dataDirB;
    const rules = join(work, 'rules.jsonl');
    const header = readFileSync(join(work, 'store.jsonl'), 'utf8').split('\n')[0]!;
    const rule = (version: number) =>
      JSON.stringify({
        type: 'rule',
        cveId: 'CVE-2021-44228',
        version,
        rule: { Name: `v${version}` },
        inputsHash: `h${version}`,
        engine: 'builtin',
        report: {},
        createdAt: '2024-05-01T00:00:00.000Z',
      });
    writeFileSync(rules, [header, rule(1), rule(2)].join('\n') + '\n');
    expect((await runCli(['import', '--store', rules])).code).toBe(0);
    const args = [
      'archive',
      '--bucket',
      'wafgen-rules',
      '--prefix',
      'prod',
      '--region',
      'us-east-1',
      '--endpoint',
      s3.url,
    ];
    expect(await runCli(args)).toMatchObject({
      code: 0,
      stdout: 's3://wafgen-rules/prod: 2 rule version(s) archived, 0 already there\n',
    });
    expect([...s3.objects('wafgen-rules').keys()]).toEqual([
      'prod/CVE-2021-44228/v1.json',
      'prod/CVE-2021-44228/v2.json',
    ]);
    expect((await runCli(args)).stdout).toBe(
      's3://wafgen-rules/prod: 0 rule version(s) archived, 2 already there\n',
    );
    s3.failNext(403, 'AccessDenied');
    expect(await runCli(args)).toMatchObject({
      code: 1,
      stderr: 'wafgen: cannot check s3://wafgen-rules/prod/CVE-2021-44228/v1.json: HTTP 403\n',
    });
  });
});
