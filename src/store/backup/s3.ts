/**
 * @module Scheduled backups to S3: the whole store exported (exportStore) and gzipped into
 * `s3://<bucket>/<prefix>wafgen-store-<time>.jsonl.gz`, backups older than the retention (30 days
 * by default) pruned after each new one, listed, and restored (importStore, idempotent). The time
 * is in the key, so retention never depends on the server's clocks or metadata, and keys that are
 * not wafgen backups are never touched.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';

import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { z } from 'zod';

import type { Store } from '../index.js';
import { exportStore, type ExportSummary } from './export.js';
import { importStore, type ImportSummary } from './import.js';

const DEFAULT_RETENTION_DAYS = 30;
const DEFAULT_BACKUP_PREFIX = 'backups/';
/** Daily at 03:00 UTC (BullMQ's cron: minute hour day month weekday). */
const DEFAULT_BACKUP_SCHEDULE = '0 3 * * *';
/** Most backup objects listed (a daily backup kept 30 days leaves ~31). */
const MAX_LISTED = 10_000;
/** A restore stops past this many uncompressed bytes (a hostile or corrupt object cannot fill the disk or memory). */
const MAX_RESTORE_BYTES = 4 * 1024 ** 3;

export interface BackupTarget {
  bucket: string;
  /** Key prefix; `backups/` by default. A prefix that is not empty ends with `/`. */
  prefix?: string;
  s3Client: S3Client;
}

export interface BackupObject {
  key: string;
  /** When the backup was taken (from its key). */
  at: Date;
  /** Compressed size in bytes. */
  size: number;
}

export class BackupError extends Error {
  override name = 'BackupError';
}

const KEY_TIME = /wafgen-store-(\d{4}-\d{2}-\d{2}T\d{2})-(\d{2})-(\d{2}\.\d{3}Z)\.jsonl\.gz$/;

function normalPrefix(prefix: string | undefined): string {
  const p = (prefix ?? DEFAULT_BACKUP_PREFIX).replace(/^\/+/, '');
  return p === '' || p.endsWith('/') ? p : `${p}/`;
}

/** `<prefix>wafgen-store-2026-12-05T03-00-00.000Z.jsonl.gz` (no `:` in keys: some tools mangle it). */
export function backupKey(prefix: string | undefined, at: Date): string {
  return `${normalPrefix(prefix)}wafgen-store-${at.toISOString().replace(/:/g, '-')}.jsonl.gz`;
}

/** The time a backup key names, or undefined for a key that is not a wafgen backup. */
export function backupTime(key: string): Date | undefined {
  const m = KEY_TIME.exec(key);
  if (!m) return undefined;
  const at = new Date(`${m[1]}:${m[2]}:${m[3]}`);
  return Number.isNaN(at.getTime()) ? undefined : at;
}

function statusOf(e: unknown): number | undefined {
  return (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

/** The error's name and status, never its message (a server's text may carry anything). */
function describe(e: unknown): string {
  const name = e instanceof Error ? e.name : 'Error';
  const status = statusOf(e);
  return status === undefined ? name : `${name} (HTTP ${status})`;
}

async function s3<T>(what: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if (e instanceof BackupError) throw e;
    throw new BackupError(`cannot ${what}: ${describe(e)}`);
  }
}

/** Every wafgen backup under the prefix, newest first. */
export async function listBackups(target: BackupTarget): Promise<BackupObject[]> {
  const prefix = normalPrefix(target.prefix);
  const found: BackupObject[] = [];
  let token: string | undefined;
  do {
    const page = await s3(`list s3://${target.bucket}/${prefix}`, () =>
      target.s3Client.send(
        new ListObjectsV2Command({
          Bucket: target.bucket,
          Prefix: prefix,
          ...(token ? { ContinuationToken: token } : {}),
        }),
      ),
    );
    for (const o of page.Contents ?? []) {
      const at = o.Key === undefined ? undefined : backupTime(o.Key);
      // Only keys directly under the prefix: a backup is never found in (nor pruned from) a sub-folder.
      if (at && o.Key && !o.Key.slice(prefix.length).includes('/'))
        found.push({ key: o.Key, at, size: o.Size ?? 0 });
      if (found.length > MAX_LISTED)
        throw new BackupError(`more than ${MAX_LISTED} backups under s3://${target.bucket}/${prefix}`);
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return found.sort((a, b) => b.at.getTime() - a.at.getTime() || (a.key < b.key ? 1 : -1));
}

export interface PruneOptions {
  now?: Date;
  retentionDays?: number;
}

/**
 * Deletes the backups older than the retention. The newest backup is always kept, however old: a
 * schedule that stopped for a month must not leave the bucket empty.
 */
export async function pruneBackups(target: BackupTarget, opts: PruneOptions = {}): Promise<string[]> {
  const days = opts.retentionDays ?? DEFAULT_RETENTION_DAYS;
  const cutoff = (opts.now ?? new Date()).getTime() - days * 86_400_000;
  const [, ...older] = await listBackups(target);
  const expired = older.filter((b) => b.at.getTime() < cutoff).map((b) => b.key);
  for (const key of expired)
    await s3(`delete s3://${target.bucket}/${key}`, () =>
      target.s3Client.send(new DeleteObjectCommand({ Bucket: target.bucket, Key: key })),
    );
  return expired;
}

export interface BackupRun {
  key: string;
  /** Compressed bytes written. */
  bytes: number;
  counts: ExportSummary['counts'];
  /** Backups deleted because they were past the retention. */
  pruned: string[];
}

/** Exports the store to S3, then prunes the backups past the retention. */
export async function runBackup(
  store: Store,
  target: BackupTarget,
  opts: PruneOptions = {},
): Promise<BackupRun> {
  const now = opts.now ?? new Date();
  const key = backupKey(target.prefix, now);
  // Spooled to a temporary file first: the upload then has a known length (no multipart, no
  // chunked encoding that S3-compatible servers differ on) and memory stays flat however big the store.
  const dir = await mkdtemp(join(tmpdir(), 'wafgen-backup-'));
  try {
    const file = join(dir, 'backup.jsonl.gz');
    const gzip = createGzip();
    const written = pipeline(gzip, createWriteStream(file, { flags: 'wx' }));
    let counts: ExportSummary['counts'];
    try {
      ({ counts } = await exportStore(store, gzip, { now: () => now }));
    } catch (e) {
      gzip.destroy();
      await written.catch(() => {});
      throw e;
    }
    gzip.end();
    await written;
    const bytes = (await stat(file)).size;
    await s3(`write s3://${target.bucket}/${key}`, () =>
      target.s3Client.send(
        new PutObjectCommand({
          Bucket: target.bucket,
          Key: key,
          Body: createReadStream(file),
          ContentLength: bytes,
          ContentType: 'application/x-ndjson',
          ContentEncoding: 'gzip',
        }),
      ),
    );
    const pruned = await pruneBackups(target, { now, ...opts });
    return { key, bytes, counts, pruned };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Ends the stream with an error past `limit` bytes. */
function byteLimit(limit: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      seen += chunk.length;
      if (seen > limit) done(new BackupError(`the backup is larger than ${limit} bytes uncompressed`));
      else done(null, chunk);
    },
  });
}

/**
 * Restores a backup (`latest`, or a key the listing gives) into the store. Import is idempotent:
 * rows already there are left alone. Only keys that name a wafgen backup are read.
 */
export async function restoreBackup(
  store: Store,
  target: BackupTarget,
  which: string,
): Promise<{ key: string; summary: ImportSummary }> {
  let key = which;
  if (which === 'latest') {
    const newest = (await listBackups(target))[0];
    if (!newest)
      throw new BackupError(`no backup under s3://${target.bucket}/${normalPrefix(target.prefix)}`);
    key = newest.key;
  } else if (!backupTime(which) || which.length > 1024) {
    throw new BackupError(
      `${JSON.stringify(which.slice(0, 200))} is not a wafgen backup key (see \`wafgen backup list\`)`,
    );
  }
  const object = await s3(`read s3://${target.bucket}/${key}`, () =>
    target.s3Client.send(new GetObjectCommand({ Bucket: target.bucket, Key: key })),
  );
  if (!(object.Body instanceof Readable)) throw new BackupError(`s3://${target.bucket}/${key} has no body`);
  const body = object.Body;
  const gunzip = createGunzip();
  const lines = byteLimit(MAX_RESTORE_BYTES);
  // An error on the raw or gunzip stream (truncated object, not gzip) ends the import's input.
  body.on('error', (e) => lines.destroy(e));
  gunzip.on('error', (e) => lines.destroy(e));
  lines.on('close', () => {
    body.destroy();
    gunzip.destroy();
  });
  body.pipe(gunzip).pipe(lines);
  const summary = await importStore(store, lines).catch((e: unknown) => {
    if (e instanceof BackupError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && code.startsWith('Z_'))
      throw new BackupError(`s3://${target.bucket}/${key} is not a gzipped wafgen backup (${code})`);
    throw e;
  });
  return { key, summary };
}

const bucketName = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
    'must be an S3 bucket name (3-63 lower-case letters, digits, dots, hyphens)',
  );
const httpUrl = z
  .string()
  .url()
  .refine((u) => ['http:', 'https:'].includes(new URL(u).protocol), 'must be an http:// or https:// URL');

const BackupEnvSchema = z.object({
  WAFGEN_BACKUP_BUCKET: bucketName.optional(),
  WAFGEN_BACKUP_PREFIX: z
    .string()
    .max(512)
    .regex(/^[\w!\-.*'()/]*$/, "may hold letters, digits and !-_.*'()/ only")
    .default(DEFAULT_BACKUP_PREFIX),
  WAFGEN_BACKUP_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(DEFAULT_RETENTION_DAYS),
  WAFGEN_BACKUP_SCHEDULE: z
    .string()
    .max(100)
    .refine((v) => {
      const fields = v.split(' ');
      return fields.length >= 5 && fields.length <= 6 && fields.every(Boolean);
    }, 'must be a cron pattern (5 or 6 fields)')
    .default(DEFAULT_BACKUP_SCHEDULE),
  WAFGEN_BACKUP_ENDPOINT: httpUrl.optional(),
  WAFGEN_BACKUP_REGION: z
    .string()
    .regex(/^[a-z]{2,5}-[a-z-]{1,30}-\d{1,3}$/, 'must be an AWS region like us-east-1')
    .optional(),
});

export type BackupConfig = z.infer<typeof BackupEnvSchema>;

/** The backup settings from the environment; throws one line per bad variable. */
export function loadBackupConfig(env: NodeJS.ProcessEnv): BackupConfig {
  const present = Object.fromEntries(
    Object.keys(BackupEnvSchema.shape).flatMap((k) => (env[k]?.trim() ? [[k, env[k]?.trim()]] : [])),
  );
  const parsed = BackupEnvSchema.safeParse(present);
  if (!parsed.success)
    throw new BackupError(parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; '));
  return parsed.data;
}

/** An S3 client for the backup bucket: path-style and checksums only where required when an endpoint is given (S3-compatible servers). */
export async function backupS3Client(opts: { region?: string; endpoint?: string }): Promise<S3Client> {
  const { S3Client } = await import('@aws-sdk/client-s3');
  return new S3Client({
    ...(opts.region ? { region: opts.region } : {}),
    ...(opts.endpoint
      ? {
          endpoint: opts.endpoint,
          forcePathStyle: true,
          requestChecksumCalculation: 'WHEN_REQUIRED',
          responseChecksumValidation: 'WHEN_REQUIRED',
        }
      : {}),
  });
}
