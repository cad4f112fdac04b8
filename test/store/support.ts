// PostgreSQL for the store tests: the local server (shared/reference/services.md), a fresh database
// per test file, dropped afterwards. Without a server the tests skip with one line, except under
// CI=true, where a missing server is a failure.
import { randomBytes } from 'node:crypto';

import pg from 'pg';

/** Admin URLs tried in order; WAFGEN_TEST_POSTGRES_URL overrides them. */
const CANDIDATES = process.env.WAFGEN_TEST_POSTGRES_URL
  ? [process.env.WAFGEN_TEST_POSTGRES_URL]
  : ['postgres://postgres@127.0.0.1:5432/postgres', 'postgres://root@127.0.0.1:5432/postgres'];

async function reachable(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

/** An admin URL for the local server, or undefined (after saying so) when the tests must skip. */
export async function postgresAdminUrl(): Promise<string | undefined> {
  for (const url of CANDIDATES) if (await reachable(url)) return url;
  const where = CANDIDATES.map((u) => new URL(u).host).join(', ');
  if (process.env.CI === 'true') throw new Error(`PostgreSQL is unreachable at ${where}: CI must provide it`);
  console.warn(`skipping PostgreSQL store tests: no PostgreSQL server answers at ${where}`);
  return undefined;
}

async function admin<T>(adminUrl: string, f: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await f(client);
  } finally {
    await client.end();
  }
}

export interface TestDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

/** A fresh, empty database `wafgen_test_<random>` on the admin URL's server. */
export async function createTestDatabase(adminUrl: string): Promise<TestDatabase> {
  const name = `wafgen_test_${randomBytes(6).toString('hex')}`;
  await admin(adminUrl, (c) => c.query(`create database ${name}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: () =>
      admin(adminUrl, (c) => c.query(`drop database if exists ${name} with (force)`)).then(() => {}),
  };
}
