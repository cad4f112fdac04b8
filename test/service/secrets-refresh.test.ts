// Secrets in long-lived serverless containers, against the loopback Secrets Manager server: the
// secret is read once per cold start, served from its cache within the TTL, read again after it;
// a rotated value gets a new runtime (the Vercel handler here, on PostgreSQL), a value the
// environment set itself is never replaced, and a failed read keeps the values in use.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import { createFetchHandler } from '../../src/api/adapters/vercel.js';
import { createRuntime, lazyRuntime, type Runtime } from '../../src/api/runtime.js';
import type { RunningService } from '../../src/app/index.js';
import { applySecretsToEnv, refreshSecretsInEnv, secretsManagerFetcher } from '../../src/secrets/index.js';
import { reusedService } from '../../src/worker/lambda.js';
import { startFakeSecretsManager, type FakeSecretsManager } from '../support/fake-aws/secrets-manager.js';
import { baseEnv, createTestDatabase, postgresAdminUrl, token, type TestDatabase } from './support.js';

const K1 = 'first-jwt-secret-from-secrets-manager-0123456789';
const K2 = 'rotated-jwt-secret-from-secrets-manager-9876543210';
const credentials = { AWS_ACCESS_KEY_ID: 'AKIDLOCALTEST', AWS_SECRET_ACCESS_KEY: 'local-test-secret-key' };
const saved = { ...process.env };
let fake: FakeSecretsManager;
const runtimes: Runtime[] = [];

beforeAll(async () => {
  fake = await startFakeSecretsManager();
  Object.assign(process.env, credentials, { AWS_EC2_METADATA_DISABLED: 'true' });
});

afterAll(async () => {
  for (const r of runtimes) await r.close().catch(() => {});
  await fake.close();
  for (const k of [...Object.keys(credentials), 'AWS_EC2_METADATA_DISABLED']) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
});

// The TTL is crossed by moving the clock (Date only), not by waiting: a loaded machine would cross it
// early while a runtime is being built. Caches are made after the clock is faked, so they read it.
const fakeClock = () => vi.useFakeTimers({ toFake: ['Date'] });
const pastTtl = () => vi.setSystemTime(Date.now() + 61_000);
afterEach(() => {
  vi.useRealTimers();
});

const reads = (name: string) =>
  fake.calls.filter((c) => (c.body as { SecretId?: string }).SecretId?.includes(name)).length;

describe('refreshSecretsInEnv', () => {
  it('re-reads after the TTL, replaces rotated values it supplied, never what the environment set', async () => {
    fakeClock();
    const arn = fake.put({
      name: 'wafgen/refresh-unit',
      secretString: JSON.stringify({ OPENAI_API_KEY: 'sk-one', ANTHROPIC_API_KEY: 'sk-ant-one' }),
    });
    const env: NodeJS.ProcessEnv = {
      WAFGEN_SECRETS_ARN: arn,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: fake.url,
      WAFGEN_SECRETS_TTL_SECONDS: '60',
      ANTHROPIC_API_KEY: 'from-the-environment',
      ...credentials,
    };
    await applySecretsToEnv(env);
    expect(env.OPENAI_API_KEY).toBe('sk-one');
    // Within the TTL: from the cache, nothing changed.
    expect(await refreshSecretsInEnv(env)).toBe(false);
    expect(reads('refresh-unit')).toBe(1);
    fake.put({
      name: 'wafgen/refresh-unit',
      secretString: JSON.stringify({
        OPENAI_API_KEY: 'sk-two',
        ANTHROPIC_API_KEY: 'sk-ant-two',
        DD_API_KEY: 'dd-new',
      }),
    });
    expect(await refreshSecretsInEnv(env)).toBe(false);
    pastTtl();
    expect(await refreshSecretsInEnv(env)).toBe(true);
    expect(reads('refresh-unit')).toBe(2);
    expect(env).toMatchObject({
      OPENAI_API_KEY: 'sk-two',
      DD_API_KEY: 'dd-new',
      ANTHROPIC_API_KEY: 'from-the-environment',
    });
    // Secrets Manager failing: the values in use stay.
    pastTtl();
    fake.failNext('InternalServiceError', 500, 10);
    expect(await refreshSecretsInEnv(env)).toBe(false);
    expect(env.OPENAI_API_KEY).toBe('sk-two');
    // Use up the injected failures the SDK's retries left.
    const read = secretsManagerFetcher({
      region: 'us-east-1',
      endpoint: fake.url,
      credentials: {
        accessKeyId: credentials.AWS_ACCESS_KEY_ID,
        secretAccessKey: credentials.AWS_SECRET_ACCESS_KEY,
      },
      maxAttempts: 1,
    });
    for (
      let i = 0;
      i < 10 &&
      !(await read(arn).then(
        () => true,
        () => false,
      ));
      i++
    );
  }, 15_000);
});

describe('worker Lambda service reuse', () => {
  it('keeps one service while the secret is unchanged, and reopens on rotation', async () => {
    const opened: { closed: boolean }[] = [];
    let rotated = false;
    const service = reusedService(
      async () => {
        const s = { closed: false, close: async () => void (s.closed = true) };
        opened.push(s);
        return s as unknown as RunningService;
      },
      async () => rotated,
    );
    const first = await service();
    expect(await service()).toBe(first);
    rotated = true;
    const second = await service();
    expect(second).not.toBe(first);
    expect(opened.map((s) => s.closed)).toEqual([true, false]);
  });
});

const adminUrl = await postgresAdminUrl();

describe.skipIf(!adminUrl)('a warm Vercel handler', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(adminUrl!);
  });
  afterAll(async () => {
    for (const r of runtimes) await r.close().catch(() => {});
    await db?.drop();
  });

  it('takes the rotated JWT key once the TTL has passed, from one read per TTL', async () => {
    fakeClock();
    const secret = (key: string) => JSON.stringify({ DATABASE_URL: db.url, WAFGEN_JWT_SECRET: key });
    const arn = fake.put({ name: 'wafgen/vercel', secretString: secret(K1) });
    const env = baseEnv({
      ...credentials,
      WAFGEN_JWT_SECRET: undefined,
      WAFGEN_SECRETS_ARN: arn,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: fake.url,
      WAFGEN_SECRETS_TTL_SECONDS: '60',
      WAFGEN_GENERATE_TIMEOUT_MS: '1000',
    });
    const handler = createFetchHandler(
      lazyRuntime(
        async () => {
          const r = await createRuntime(env, { inProcessWorker: false });
          runtimes.push(r);
          return r;
        },
        () => refreshSecretsInEnv(env),
      ),
    );
    const status = async (key: string) =>
      (
        await handler(
          new Request('https://wafgen.vercel.app/v1/jobs/gen-none', {
            headers: { authorization: `Bearer ${await token({}, { secret: key })}` },
          }),
        )
      ).status;
    // 404: authenticated, no such job; 401: the key is not the one in use.
    expect(await status(K1)).toBe(404);
    expect(await status(K2)).toBe(401);
    fake.put({ name: 'wafgen/vercel', secretString: secret(K2) });
    expect(await status(K2)).toBe(401);
    expect(reads('vercel')).toBe(1);
    pastTtl();
    expect(await status(K2)).toBe(404);
    expect(await status(K1)).toBe(401);
    expect(reads('vercel')).toBe(2);
    expect(runtimes).toHaveLength(2);
    expect(runtimes[1]!.service.store.kind).toBe('postgres');
  }, 30_000);
});
