// Which errors mean "this backend cannot be reached": real errors from the real drivers (node-postgres,
// ioredis) against a port where nothing listens, and errors from other connections that must not
// be taken for PostgreSQL's or Redis's.
import { Redis } from 'ioredis';
import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';

import { backendUnavailable } from '../../src/app/backends.js';
import { BackendUnavailableError, endpointOf } from '../../src/core/backend-error.js';
import { probeRedis, redisUnavailable } from '../../src/kv/unavailable.js';
import { StoreBusyError } from '../../src/store/db.js';
import { postgresUnavailable } from '../../src/store/errors.js';
import { REDIS_URL, redisAvailable } from '../service/support.js';
import { deadPort } from '../support/net.js';

const redisUp = await redisAvailable();

async function errorOf(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: unknown) => e,
  );
}

let port = 0;
let other = 0;
beforeAll(async () => {
  port = await deadPort();
  other = await deadPort();
});

describe('endpointOf', () => {
  it('keeps host and port, drops user, password, database and query', () => {
    expect(endpointOf('postgres://u:secret@db.example:6432/app?sslmode=require', 5432)).toBe(
      'db.example:6432',
    );
    expect(endpointOf('postgres://u:secret@db.example/app', 5432)).toBe('db.example:5432');
    expect(endpointOf('rediss://:secret@[::1]:6380/2', 6379)).toBe('[::1]:6380');
    expect(endpointOf('postgres:///app?host=/var/run/postgresql', 5432)).toBe('/var/run/postgresql:5432');
    expect(endpointOf('not a url with secret', 5432)).toBe('the configured address');
  });
});

describe('postgresUnavailable', () => {
  it('recognises node-postgres refused and unknown-host errors, and names no credentials', async () => {
    const url = `postgres://u:secret@127.0.0.1:${port}/db`;
    const pool = new pg.Pool({ connectionString: url });
    const refused = await errorOf(pool.query('select 1'));
    await pool.end();
    const mapped = postgresUnavailable(refused, url);
    expect(mapped).toBeInstanceOf(BackendUnavailableError);
    expect(mapped?.message).toBe(`cannot reach PostgreSQL at 127.0.0.1:${port} (ECONNREFUSED)`);

    const unknownUrl = 'postgres://u:secret@no-such-host.invalid:5432/db';
    const unknownPool = new pg.Pool({ connectionString: unknownUrl });
    const unknown = await errorOf(unknownPool.query('select 1'));
    await unknownPool.end();
    expect(postgresUnavailable(unknown, unknownUrl)?.message).toMatch(
      /^cannot reach PostgreSQL at no-such-host\.invalid:5432 \((ENOTFOUND|EAI_AGAIN)\)$/,
    );
  });

  it('maps the SQLSTATEs that mean the server cannot be used, and no others', () => {
    const url = 'postgres://u:secret@db:5432/app';
    const state = (code: string) => Object.assign(new Error('server text with secret'), { code });
    expect(postgresUnavailable(state('28P01'), url)?.message).toBe(
      'cannot reach PostgreSQL at db:5432 (password authentication failed, 28P01)',
    );
    expect(postgresUnavailable(state('08006'), url)?.reason).toBe('connection failure, 08006');
    expect(postgresUnavailable(state('57P03'), url)?.reason).toMatch(/starting up/);
    for (const code of ['23505', '42P01', '40001', 'ERR_SOMETHING'])
      expect(postgresUnavailable(state(code), url)).toBeUndefined();
    expect(postgresUnavailable(new Error('Connection terminated unexpectedly'), url)?.reason).toBe(
      'connection closed by the server',
    );
    expect(postgresUnavailable(new Error('boom'), url)).toBeUndefined();
    expect(postgresUnavailable('not an error', url)).toBeUndefined();
  });

  it('does not claim a connection error to another port (S3, an LLM, Redis)', async () => {
    const url = `postgres://u:secret@127.0.0.1:${port}/db`;
    const elsewhere = await errorOf(fetch(`http://127.0.0.1:${other}/`));
    // fetch wraps the socket error: neither the wrapper nor its cause is PostgreSQL's.
    expect(postgresUnavailable(elsewhere, url)).toBeUndefined();
    expect(postgresUnavailable((elsewhere as Error).cause, url)).toBeUndefined();
  });
});

describe('redisUnavailable', () => {
  it("recognises ioredis's errors for a server it cannot reach", async () => {
    const url = `redis://:secret@127.0.0.1:${port}`;
    // As src/kv/redis.ts configures its clients: no offline queue, one retry.
    const failFast = new Redis(url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
    });
    failFast.on('error', () => {});
    await failFast.connect().catch(() => {});
    const notConnected = await errorOf(failFast.ping());
    failFast.disconnect();
    expect(redisUnavailable(notConnected, url)?.message).toMatch(
      new RegExp(`^cannot reach Redis at 127\\.0\\.0\\.1:${port} \\((not connected|connection closed)\\)$`),
    );

    let socketError: unknown;
    const plain = new Redis(url, { maxRetriesPerRequest: 0, retryStrategy: () => null });
    plain.on('error', (e) => (socketError ??= e));
    const closed = await errorOf(plain.ping());
    plain.disconnect();
    expect(redisUnavailable(closed, url)).toBeInstanceOf(BackendUnavailableError);
    expect(redisUnavailable(socketError, url)?.message).toBe(
      `cannot reach Redis at 127.0.0.1:${port} (ECONNREFUSED)`,
    );
    // The same socket error is not PostgreSQL's: another port.
    expect(postgresUnavailable(socketError, `postgres://u:secret@127.0.0.1:${other}/db`)).toBeUndefined();
  });

  it('recognises refused logins, and nothing else', () => {
    const url = 'redis://:secret@cache:6379';
    expect(redisUnavailable(new Error('WRONGPASS invalid username-password pair'), url)?.reason).toBe(
      'authentication failed',
    );
    expect(redisUnavailable(new Error('NOAUTH Authentication required.'), url)?.reason).toBe(
      'authentication required',
    );
    expect(redisUnavailable(new Error('WRONGTYPE Operation against a key'), url)).toBeUndefined();
  });
});

describe('probeRedis', () => {
  it('says why Redis does not answer, with the socket code and no password', async () => {
    const down = await probeRedis(`redis://:secret@127.0.0.1:${port}`);
    expect(down?.message).toBe(`cannot reach Redis at 127.0.0.1:${port} (ECONNREFUSED)`);
  });

  it.skipIf(!redisUp)('answers nothing for the local Redis that answers', async () => {
    expect(await probeRedis(REDIS_URL)).toBeUndefined();
  });
});

describe('backendUnavailable', () => {
  it('tries the configured backends only, and passes the embedded store lock through', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6000'), {
      code: 'ECONNREFUSED',
      port: 6000,
      address: '127.0.0.1',
    });
    expect(backendUnavailable(refused, {})).toBeUndefined();
    expect(backendUnavailable(refused, { DATABASE_URL: 'postgres://a:b@127.0.0.1:6000/x' })?.message).toBe(
      'cannot reach PostgreSQL at 127.0.0.1:6000 (ECONNREFUSED)',
    );
    expect(backendUnavailable(refused, { REDIS_URL: 'redis://127.0.0.1:6000' })?.message).toBe(
      'cannot reach Redis at 127.0.0.1:6000 (ECONNREFUSED)',
    );
    const busy = new StoreBusyError('/data/pglite', 1234);
    expect(backendUnavailable(busy, {})).toBe(busy);
  });
});
