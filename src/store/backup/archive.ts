// Optional archive of every rule version to S3: s3://<bucket>/<prefix>/<CVE>/v<N>.json, one object per
// version, never overwritten (a HEAD finds the ones already there). Versions are immutable in the
// store, so an object that exists is the same version and is skipped.
import { HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';

import type { Store } from '../index.js';
import { ruleLine } from './export.js';

export interface ArchiveOptions {
  bucket: string;
  /** Key prefix, without or with a trailing slash; default none. */
  prefix?: string;
  s3Client: S3Client;
  /** Called after each version with the running totals. */
  progress?: (done: number, total: number) => void;
}

export interface ArchiveSummary {
  uploaded: string[];
  skipped: string[];
}

export class ArchiveError extends Error {
  override name = 'ArchiveError';
}

/** `<prefix>/<CVE>/v<N>.json`. */
export function archiveKey(prefix: string | undefined, cveId: string, version: number): string {
  const p = (prefix ?? '').replace(/^\/+|\/+$/g, '');
  return `${p ? `${p}/` : ''}${cveId}/v${version}.json`;
}

const PAGE = 200;

function statusOf(e: unknown): number | undefined {
  return (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

function describe(e: unknown): string {
  const name = e instanceof Error ? e.name : 'Error';
  const status = statusOf(e);
  // A HEAD error has no body, so the SDK can name it only by its status.
  const named = !/^(Unknown|\d+)$/.test(name);
  if (status === undefined) return name;
  return named ? `${name} (HTTP ${status})` : `HTTP ${status}`;
}

async function exists(s3: S3Client, bucket: string, key: string): Promise<boolean> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch (e) {
    if (statusOf(e) === 404 || (e instanceof Error && e.name === 'NotFound')) return false;
    throw new ArchiveError(`cannot check s3://${bucket}/${key}: ${describe(e)}`);
  }
}

export async function archiveRuleVersions(
  store: Pick<Store, 'db'>,
  opts: ArchiveOptions,
): Promise<ArchiveSummary> {
  const { bucket, s3Client } = opts;
  const total = Number(
    (
      await store.db
        .selectFrom('rules')
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  );
  const summary: ArchiveSummary = { uploaded: [], skipped: [] };
  for (let offset = 0; ; offset += PAGE) {
    const rows = await store.db
      .selectFrom('rules')
      .selectAll()
      .orderBy('cve_id')
      .orderBy('version')
      .limit(PAGE)
      .offset(offset)
      .execute();
    for (const row of rows) {
      const { type: _t, ...version } = ruleLine(row);
      const key = archiveKey(opts.prefix, version.cveId, version.version);
      if (await exists(s3Client, bucket, key)) summary.skipped.push(key);
      else {
        try {
          await s3Client.send(
            new PutObjectCommand({
              Bucket: bucket,
              Key: key,
              Body: JSON.stringify(version, null, 2) + '\n',
              ContentType: 'application/json',
            }),
          );
        } catch (e) {
          throw new ArchiveError(`cannot write s3://${bucket}/${key}: ${describe(e)}`);
        }
        summary.uploaded.push(key);
      }
      opts.progress?.(summary.uploaded.length + summary.skipped.length, total);
    }
    if (rows.length < PAGE) break;
  }
  return summary;
}
