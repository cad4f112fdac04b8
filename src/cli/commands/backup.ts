// `wafgen export` (the whole store as JSON Lines), `wafgen archive` (every rule version to S3),
// `wafgen backup run|list|restore` (the scheduled backups in S3, src/store/backup/s3.ts).
// `wafgen import --store` lives with the other import in vulns.ts and calls restoreStore here.
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';

import type { Command } from 'commander';

import { InputError } from '../../core/errors.js';
import type { Config } from '../../config/index.js';
import type { Store } from '../../store/index.js';
import type { BackupConfig, BackupTarget } from '../../store/backup/index.js';
import { EXIT, printable, printableJson, type Io } from '../io.js';

async function withStore<T>(config: Config, f: (store: Store) => Promise<T>): Promise<T> {
  const { openStore, sqlStoreOptions } = await import('../../store/index.js');
  const store = await openStore(sqlStoreOptions(config));
  try {
    return await f(store);
  } finally {
    await store.close();
  }
}

const errno = (e: unknown): string =>
  (e as NodeJS.ErrnoException).code ?? (e instanceof Error ? e.message : String(e));

/** `wafgen import --store FILE…`: restores store exports, idempotently. */
export async function restoreStore(
  io: Io,
  config: Config,
  paths: string[],
  opts: { json?: boolean },
  setExit: (code: number) => void,
): Promise<void> {
  const { BackupFormatError, importStore } = await import('../../store/backup/index.js');
  await withStore(config, async (store) => {
    const results = [];
    let errors = 0;
    for (const path of paths) {
      const input = createReadStream(path);
      // Open errors (ENOENT, EISDIR) surface here, before any line is read.
      await new Promise<void>((resolve, reject) => {
        input.once('readable', resolve);
        input.once('error', (e) => reject(new InputError(`cannot read ${path}: ${errno(e)}`)));
      });
      let summary;
      try {
        summary = await importStore(store, input);
      } catch (e) {
        if (e instanceof BackupFormatError) throw new InputError(`${path}: ${e.message}`);
        throw e;
      } finally {
        input.destroy();
      }
      for (const e of summary.errors.slice(0, 50))
        io.err(`${printable(path)}: line ${e.line}: ${printable(e.message)}\n`);
      if (summary.errors.length > 50) io.err(`… and ${summary.errors.length - 50} more errors\n`);
      errors += summary.errors.length;
      results.push({ file: path, counts: summary.counts, errors: summary.errors.length });
      if (!opts.json) {
        const parts = Object.entries(summary.counts).map(
          ([type, c]) => `${type} ${c.inserted} new, ${c.updated} updated, ${c.unchanged} unchanged`,
        );
        io.out(`${printable(path)}: ${parts.join('; ')}; ${summary.errors.length} bad line(s) skipped\n`);
      }
    }
    if (opts.json) io.out(printableJson(results) + '\n');
    setExit(errors > 0 ? EXIT.failed : EXIT.ok);
  });
}

export function registerBackup(
  program: Command,
  io: Io,
  config: () => Config,
  setExit: (code: number) => void,
): void {
  program
    .command('export')
    .description('write the whole store (records, evidence, every rule version, audit events) as JSON Lines')
    .option('-o, --output <file>', 'write to this file instead of stdout')
    .action(async (opts: { output?: string }) => {
      const { exportStore } = await import('../../store/backup/index.js');
      const cfg = config();
      if (!opts.output) {
        const out = new Writable({
          write(chunk: Buffer | string, _enc, done) {
            io.out(chunk.toString());
            done();
          },
        });
        await withStore(cfg, (store) => exportStore(store, out));
        return;
      }
      // Written beside the target and renamed, so a failed export never leaves half a file.
      const target = opts.output;
      const partial = `${target}.partial-${process.pid}`;
      const file = createWriteStream(partial, { flags: 'wx' });
      try {
        await new Promise<void>((resolve, reject) => {
          file.once('open', () => resolve());
          file.once('error', (e) => reject(new InputError(`cannot write ${target}: ${errno(e)}`)));
        });
        const { counts } = await withStore(cfg, (store) => exportStore(store, file));
        file.end();
        await finished(file);
        await rename(partial, target);
        io.err(
          `${printable(target)}: ${counts.vulnerability} record(s), ${counts.evidence} evidence item(s), ${counts.rule} rule version(s), ${counts.audit} audit event(s)\n`,
        );
      } catch (e) {
        file.destroy();
        await rm(partial, { force: true });
        throw e;
      }
      setExit(EXIT.ok);
    });

  program
    .command('archive')
    .description(
      'copy every rule version to S3 as s3://BUCKET/PREFIX/<CVE>/v<N>.json (existing objects are kept)',
    )
    .requiredOption('--bucket <name>', 'S3 bucket')
    .option('--prefix <prefix>', 'key prefix', '')
    .option('--region <region>', 'AWS region (default: AWS_REGION)')
    .option('--endpoint <url>', 'S3-compatible endpoint (path-style addressing), e.g. http://127.0.0.1:9000')
    .option('--json', 'print the keys written and skipped as JSON')
    .action(
      async (opts: {
        bucket: string;
        prefix: string;
        region?: string;
        endpoint?: string;
        json?: boolean;
      }) => {
        const { S3Client } = await import('@aws-sdk/client-s3');
        const { ArchiveError, archiveRuleVersions } = await import('../../store/backup/index.js');
        if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(opts.bucket))
          throw new InputError(
            '--bucket must be an S3 bucket name (3-63 lower-case letters, digits, dots, hyphens)',
          );
        if (opts.region !== undefined && !/^[a-z]{2,5}-[a-z-]{1,30}-\d{1,3}$/.test(opts.region))
          throw new InputError('--region must be an AWS region like us-east-1');
        if (opts.endpoint !== undefined) {
          let ok = false;
          try {
            ok = ['http:', 'https:'].includes(new URL(opts.endpoint).protocol);
          } catch {
            ok = false;
          }
          if (!ok) throw new InputError('--endpoint must be a URL starting with http:// or https://');
        }
        const cfg = config();
        const s3Client = new S3Client({
          ...(opts.region ? { region: opts.region } : {}),
          ...(opts.endpoint ? { endpoint: opts.endpoint, forcePathStyle: true } : {}),
        });
        try {
          const summary = await withStore(cfg, (store) =>
            archiveRuleVersions(store, { bucket: opts.bucket, prefix: opts.prefix, s3Client }),
          );
          if (opts.json) io.out(printableJson(summary) + '\n');
          else
            io.out(
              `s3://${opts.bucket}/${opts.prefix}: ${summary.uploaded.length} rule version(s) archived, ${summary.skipped.length} already there\n`,
            );
          setExit(EXIT.ok);
        } catch (e) {
          if (e instanceof ArchiveError) {
            io.err(`wafgen: ${printable(e.message)}\n`);
            setExit(EXIT.failed);
            return;
          }
          if (e instanceof Error && /region is missing/i.test(e.message))
            throw new InputError('no AWS region: pass --region or set AWS_REGION');
          throw e;
        } finally {
          s3Client.destroy();
        }
      },
    );

  registerScheduledBackup(program, io, config, setExit);
}

interface BackupCliOptions {
  bucket?: string;
  prefix?: string;
  region?: string;
  endpoint?: string;
  retentionDays?: string;
  json?: boolean;
}

/** `wafgen backup run|list|restore`: options over the WAFGEN_BACKUP_* variables, checked as they are. */
function registerScheduledBackup(
  program: Command,
  io: Io,
  config: () => Config,
  setExit: (code: number) => void,
): void {
  const backup = program
    .command('backup')
    .description(
      'the daily store backups in S3 (gzipped exports; `wafgen worker` takes one on WAFGEN_BACKUP_SCHEDULE when WAFGEN_BACKUP_BUCKET is set)',
    );
  const common = (c: Command): Command =>
    c
      .option('--bucket <name>', 'S3 bucket (default: WAFGEN_BACKUP_BUCKET)')
      .option('--prefix <prefix>', 'key prefix (default: WAFGEN_BACKUP_PREFIX, else backups/)')
      .option('--region <region>', 'AWS region (default: WAFGEN_BACKUP_REGION, else AWS_REGION)')
      .option(
        '--endpoint <url>',
        'S3-compatible endpoint, path-style (default: WAFGEN_BACKUP_ENDPOINT), e.g. http://127.0.0.1:9000',
      )
      .option('--json', 'print the result as JSON');

  const run = async (
    opts: BackupCliOptions,
    f: (target: BackupTarget, cfg: BackupConfig) => Promise<void>,
  ) => {
    const { BackupError, backupS3Client, loadBackupConfig } = await import('../../store/backup/index.js');
    let cfg: BackupConfig;
    try {
      cfg = loadBackupConfig({
        ...process.env,
        ...(opts.bucket !== undefined ? { WAFGEN_BACKUP_BUCKET: opts.bucket } : {}),
        ...(opts.prefix !== undefined ? { WAFGEN_BACKUP_PREFIX: opts.prefix } : {}),
        ...(opts.region !== undefined ? { WAFGEN_BACKUP_REGION: opts.region } : {}),
        ...(opts.endpoint !== undefined ? { WAFGEN_BACKUP_ENDPOINT: opts.endpoint } : {}),
        ...(opts.retentionDays !== undefined ? { WAFGEN_BACKUP_RETENTION_DAYS: opts.retentionDays } : {}),
      });
    } catch (e) {
      if (e instanceof BackupError) throw new InputError(e.message);
      throw e;
    }
    if (!cfg.WAFGEN_BACKUP_BUCKET)
      throw new InputError('no bucket: pass --bucket or set WAFGEN_BACKUP_BUCKET');
    const s3Client = await backupS3Client({
      ...(cfg.WAFGEN_BACKUP_REGION ? { region: cfg.WAFGEN_BACKUP_REGION } : {}),
      ...(cfg.WAFGEN_BACKUP_ENDPOINT ? { endpoint: cfg.WAFGEN_BACKUP_ENDPOINT } : {}),
    });
    try {
      await f({ bucket: cfg.WAFGEN_BACKUP_BUCKET, prefix: cfg.WAFGEN_BACKUP_PREFIX, s3Client }, cfg);
    } catch (e) {
      if (e instanceof BackupError) {
        io.err(`wafgen: ${printable(e.message)}\n`);
        setExit(EXIT.failed);
        return;
      }
      if (e instanceof Error && /region is missing/i.test(e.message))
        throw new InputError('no AWS region: pass --region or set WAFGEN_BACKUP_REGION or AWS_REGION');
      throw e;
    } finally {
      s3Client.destroy();
    }
  };

  common(backup.command('run'))
    .description('export the store to S3 now, then delete the backups past the retention')
    .option(
      '--retention-days <n>',
      'keep backups this many days (default: WAFGEN_BACKUP_RETENTION_DAYS, else 30)',
    )
    .action(async (opts: BackupCliOptions) => {
      const { runBackup } = await import('../../store/backup/index.js');
      const cfg = config();
      await run(opts, async (target, bcfg) => {
        const r = await withStore(cfg, (store) =>
          runBackup(store, target, { retentionDays: bcfg.WAFGEN_BACKUP_RETENTION_DAYS }),
        );
        if (opts.json) io.out(printableJson(r) + '\n');
        else
          io.out(
            `s3://${target.bucket}/${printable(r.key)}: ${r.bytes} bytes (${r.counts.vulnerability} record(s), ${r.counts.rule} rule version(s), ${r.counts.audit} audit event(s)); ${r.pruned.length} backup(s) past ${bcfg.WAFGEN_BACKUP_RETENTION_DAYS} days deleted\n`,
          );
        setExit(EXIT.ok);
      });
    });

  common(backup.command('list'))
    .description('list the backups, newest first')
    .action(async (opts: BackupCliOptions) => {
      const { listBackups } = await import('../../store/backup/index.js');
      config();
      await run(opts, async (target) => {
        const found = await listBackups(target);
        if (opts.json)
          io.out(
            printableJson(found.map((b) => ({ key: b.key, at: b.at.toISOString(), size: b.size }))) + '\n',
          );
        else
          for (const b of found)
            io.out(`${b.at.toISOString()}  ${String(b.size).padStart(12)}  ${printable(b.key)}\n`);
        if (!opts.json && found.length === 0)
          io.err(`no backup under s3://${target.bucket}/${printable(target.prefix ?? '')}\n`);
        setExit(EXIT.ok);
      });
    });

  common(backup.command('restore'))
    .description('load a backup into the store (idempotent: rows already there are left alone)')
    .argument('<key>', 'a key from `wafgen backup list`, or `latest`')
    .action(async (key: string, opts: BackupCliOptions) => {
      const { restoreBackup } = await import('../../store/backup/index.js');
      const cfg = config();
      await run(opts, async (target) => {
        const { key: restored, summary } = await withStore(cfg, (store) => restoreBackup(store, target, key));
        for (const e of summary.errors.slice(0, 50))
          io.err(`${printable(restored)}: line ${e.line}: ${printable(e.message)}\n`);
        if (opts.json)
          io.out(
            printableJson({ key: restored, counts: summary.counts, errors: summary.errors.length }) + '\n',
          );
        else {
          const parts = Object.entries(summary.counts).map(
            ([type, c]) => `${type} ${c.inserted} new, ${c.updated} updated, ${c.unchanged} unchanged`,
          );
          io.out(
            `s3://${target.bucket}/${printable(restored)}: ${parts.join('; ')}; ${summary.errors.length} bad line(s) skipped\n`,
          );
        }
        setExit(summary.errors.length > 0 ? EXIT.failed : EXIT.ok);
      });
    });
}
