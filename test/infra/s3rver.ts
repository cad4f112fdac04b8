/**
 * @module s3rver (an S3-protocol server on npm, storing objects in a folder) on a loopback port, for
 * the backup tests: ListObjectsV2 with pagination, DeleteObject and GetObject as S3 answers them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { S3Client } from '@aws-sdk/client-s3';

import { backupS3Client } from '../../src/store/backup/index.js';

export interface LocalS3 {
  url: string;
  client: S3Client;
  close(): Promise<void>;
}

export async function startS3rver(buckets: string[]): Promise<LocalS3> {
  const directory = mkdtempSync(join(tmpdir(), 'wafgen-s3rver-'));
  const { default: S3rver } = await import('s3rver');
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: buckets.map((name) => ({ name })),
  });
  const { port } = await server.run();
  const url = `http://127.0.0.1:${port}`;
  // s3rver's one key pair; it checks SigV4 signatures made with it.
  process.env.AWS_ACCESS_KEY_ID ??= 'S3RVER';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'S3RVER';
  const client = await backupS3Client({ region: 'us-east-1', endpoint: url });
  return {
    url,
    client,
    async close() {
      client.destroy();
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
