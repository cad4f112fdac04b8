// dynalite (an implementation of the DynamoDB API on an in-memory LevelDB) on a loopback port, for
// the DynamoDB store tests: one server per test file, the table created once by the first store.
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';

import dynalite from 'dynalite';

import type { DynamoStoreOptions } from '../../src/store/dynamodb/settings.js';

export interface LocalDynamo {
  endpoint: string;
  /** Store options for a table of this server (a fresh name per call unless given). */
  options(tableName?: string): DynamoStoreOptions;
  close(): Promise<void>;
}

export async function startDynalite(): Promise<LocalDynamo> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    options: (tableName = `t${randomBytes(4).toString('hex')}-wafgen`) => ({
      tableName,
      endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      createTable: true,
    }),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
