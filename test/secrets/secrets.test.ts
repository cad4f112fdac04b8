// Secrets: Secrets Manager through the real SDK v3 against a local endpoint speaking its JSON 1.1
// protocol; the TTL cache with an injected clock; no secret value in errors, inspect or JSON.
import { inspect } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadEnvironment } from '../../src/app/index.js';
import {
  applySecretsToEnv,
  loadSecretsConfig,
  SecretCache,
  SecretsConfigError,
  SecretsError,
  secretsManagerFetcher,
} from '../../src/secrets/index.js';
import { startFakeSecretsManager, type FakeSecretsManager } from '../support/fake-aws/secrets-manager.js';

const OPENAI = 'sk-test-openai-0123456789abcdef';
const ANTHROPIC = 'sk-ant-test-fedcba9876543210';
const credentials = { accessKeyId: 'AKIDLOCALTEST', secretAccessKey: 'local-test-secret-key' };

let fake: FakeSecretsManager;
let arn: string;
const savedEnv = { ...process.env };

beforeAll(async () => {
  fake = await startFakeSecretsManager();
  arn = fake.put({
    name: 'wafgen/prod',
    secretString: JSON.stringify({ OPENAI_API_KEY: OPENAI, ANTHROPIC_API_KEY: ANTHROPIC, NODE_OPTIONS: 'x' }),
  });
  fake.put({ name: 'wafgen/not-json', secretString: `{${OPENAI}` });
  fake.put({ name: 'wafgen/binary', secretBinary: Buffer.from(JSON.stringify({ OPENAI_API_KEY: OPENAI })) });
  // The SDK's default credential chain (used by applySecretsToEnv) reads these.
  process.env.AWS_ACCESS_KEY_ID = credentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = credentials.secretAccessKey;
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
});

afterAll(async () => {
  for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_EC2_METADATA_DISABLED']) {
    if (savedEnv[k] === undefined) delete process.env[k];
    else process.env[k] = savedEnv[k];
  }
  await fake.close();
});

const fetcher = () =>
  secretsManagerFetcher({ region: 'us-east-1', endpoint: fake.url, credentials, maxAttempts: 1 });

describe('configuration', () => {
  it('is environment-only without WAFGEN_SECRETS_ARN, with a 300 s default TTL', () => {
    expect(loadSecretsConfig({})).toEqual({ ttlMs: 300_000 });
  });

  it('takes the region from the ARN, then WAFGEN_SECRETS_REGION wins', () => {
    expect(loadSecretsConfig({ WAFGEN_SECRETS_ARN: arn }).region).toBe('us-east-1');
    expect(loadSecretsConfig({ WAFGEN_SECRETS_ARN: arn, WAFGEN_SECRETS_REGION: 'eu-west-1' }).region).toBe(
      'eu-west-1',
    );
    expect(loadSecretsConfig({ WAFGEN_SECRETS_ARN: 'wafgen/prod', AWS_REGION: 'eu-central-1' }).region).toBe(
      'eu-central-1',
    );
  });

  it('names bad variables, and is checked by loadEnvironment', () => {
    expect(() => loadSecretsConfig({ WAFGEN_SECRETS_ARN: 'wafgen/prod' })).toThrow(/WAFGEN_SECRETS_REGION/);
    expect(() =>
      loadSecretsConfig({ WAFGEN_SECRETS_TTL_SECONDS: '-1', AWS_ENDPOINT_URL_SECRETS_MANAGER: 'ftp://x' }),
    ).toThrow(SecretsConfigError);
    expect(() => loadEnvironment({ WAFGEN_DATA_DIR: '/tmp/x', WAFGEN_SECRETS_TTL_SECONDS: 'soon' })).toThrow(
      /WAFGEN_SECRETS_TTL_SECONDS/,
    );
  });
});

describe('Secrets Manager through the SDK', () => {
  it('reads a JSON secret by ARN and by name, signed, wrapping each value in Secret', async () => {
    const cache = new SecretCache({ secretId: arn, fetch: fetcher(), ttlMs: 60_000 });
    const bundle = await cache.get();
    expect(bundle.values.get('OPENAI_API_KEY')?.reveal()).toBe(OPENAI);
    expect(bundle.values.get('ANTHROPIC_API_KEY')?.reveal()).toBe(ANTHROPIC);
    expect(bundle.ignored).toEqual(['NODE_OPTIONS']);
    const call = fake.calls.at(-1);
    expect(call).toMatchObject({
      target: 'secretsmanager.GetSecretValue',
      body: { SecretId: arn },
      authorized: true,
    });
    expect(await fetcher()('wafgen/prod')).toContain(OPENAI);
    expect(await fetcher()('wafgen/binary')).toContain(OPENAI);
  });

  it('reports AWS errors by code and secret id, never a value', async () => {
    await expect(fetcher()('wafgen/missing')).rejects.toThrow(
      new SecretsError('cannot read secret wafgen/missing from Secrets Manager: ResourceNotFoundException'),
    );
    fake.failNext('AccessDeniedException');
    await expect(fetcher()(arn)).rejects.toThrow(/AccessDeniedException/);
  });

  it('does not quote a malformed secret in its error', async () => {
    const cache = new SecretCache({ secretId: 'wafgen/not-json', fetch: fetcher(), ttlMs: 1000 });
    const error = await cache.get().then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error).toBeInstanceOf(SecretsError);
    expect(error?.message).toMatch(/not a JSON object/);
    expect(error?.message).not.toContain(OPENAI.slice(3, 15));
    expect(inspect(error)).not.toContain(OPENAI.slice(3, 15));
  });
});

describe('TTL cache', () => {
  it('reuses the secret within the TTL and fetches again after it, with one fetch for concurrent callers', async () => {
    let now = 1_000_000;
    let fetches = 0;
    const cache = new SecretCache({
      secretId: 's',
      ttlMs: 300_000,
      now: () => now,
      fetch: async () => {
        fetches++;
        return JSON.stringify({ OPENAI_API_KEY: `key-${fetches}` });
      },
    });
    const [a, b] = await Promise.all([cache.value('OPENAI_API_KEY'), cache.value('OPENAI_API_KEY')]);
    expect([a?.reveal(), b?.reveal(), fetches]).toEqual(['key-1', 'key-1', 1]);
    now += 299_999;
    expect((await cache.value('OPENAI_API_KEY'))?.reveal()).toBe('key-1');
    expect(fetches).toBe(1);
    now += 1;
    expect((await cache.value('OPENAI_API_KEY'))?.reveal()).toBe('key-2');
    expect(fetches).toBe(2);
    cache.invalidate();
    expect((await cache.value('OPENAI_API_KEY'))?.reveal()).toBe('key-3');
  });

  it('does not cache a failure', async () => {
    let calls = 0;
    const cache = new SecretCache({
      secretId: 's',
      ttlMs: 300_000,
      fetch: async () => {
        if (++calls === 1) throw new SecretsError('down');
        return '{"OPENAI_API_KEY":"k"}';
      },
    });
    await expect(cache.get()).rejects.toThrow('down');
    expect((await cache.value('OPENAI_API_KEY'))?.reveal()).toBe('k');
  });

  it('counts fetches against the real endpoint', async () => {
    let now = 0;
    const cache = new SecretCache({ secretId: arn, fetch: fetcher(), ttlMs: 10_000, now: () => now });
    const before = fake.calls.length;
    await cache.get();
    await cache.get();
    expect(fake.calls.length - before).toBe(1);
    now = 10_000;
    await cache.get();
    expect(fake.calls.length - before).toBe(2);
  });
});

describe('applySecretsToEnv', () => {
  it('leaves the environment alone without WAFGEN_SECRETS_ARN', async () => {
    const env: NodeJS.ProcessEnv = { OPENAI_API_KEY: 'from-env' };
    expect(await applySecretsToEnv(env)).toMatchObject({ source: 'environment', applied: [] });
    expect(env).toEqual({ OPENAI_API_KEY: 'from-env' });
  });

  it('fills unset variables from the secret; a variable set in the environment wins', async () => {
    const env: NodeJS.ProcessEnv = {
      WAFGEN_SECRETS_ARN: arn,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: fake.url,
      ANTHROPIC_API_KEY: 'from-env',
      OPENAI_API_KEY: '',
    };
    const result = await applySecretsToEnv(env);
    expect(result).toEqual({
      source: 'secrets-manager',
      applied: ['OPENAI_API_KEY'],
      keptFromEnvironment: ['ANTHROPIC_API_KEY'],
      ignored: ['NODE_OPTIONS'],
    });
    expect(env.OPENAI_API_KEY).toBe(OPENAI);
    expect(env.ANTHROPIC_API_KEY).toBe('from-env');
    expect(env.NODE_OPTIONS).toBeUndefined();
    // Names only in the result.
    expect(JSON.stringify(result)).not.toContain(OPENAI);
  });

  it('reuses the process-wide cache for the same secret', async () => {
    const env = () => ({ WAFGEN_SECRETS_ARN: arn, AWS_ENDPOINT_URL_SECRETS_MANAGER: fake.url });
    await applySecretsToEnv(env());
    const before = fake.calls.length;
    await applySecretsToEnv(env());
    expect(fake.calls.length).toBe(before);
  });

  it('fails with the error code when the secret is missing', async () => {
    await expect(
      applySecretsToEnv({
        WAFGEN_SECRETS_ARN: 'wafgen/absent',
        WAFGEN_SECRETS_REGION: 'us-east-1',
        AWS_ENDPOINT_URL_SECRETS_MANAGER: fake.url,
      }),
    ).rejects.toThrow(/ResourceNotFoundException/);
  });
});

describe('never printed', () => {
  it('keeps values out of inspect and JSON of the bundle, the cache and the LLM config', async () => {
    const cache = new SecretCache({ secretId: arn, fetch: fetcher(), ttlMs: 60_000 });
    const bundle = await cache.get();
    for (const text of [
      inspect(bundle, { depth: 10 }),
      JSON.stringify(Object.fromEntries(bundle.values)),
      inspect(cache, { depth: 10 }),
      JSON.stringify(cache),
      String(bundle.values.get('OPENAI_API_KEY')),
    ]) {
      expect(text).not.toContain(OPENAI);
      expect(text).not.toContain(ANTHROPIC);
    }
    const { loadLlmConfig } = await import('../../src/llm/config.js');
    const env: NodeJS.ProcessEnv = { WAFGEN_SECRETS_ARN: arn, AWS_ENDPOINT_URL_SECRETS_MANAGER: fake.url };
    await applySecretsToEnv(env);
    const llm = loadLlmConfig(env);
    expect(llm.providers.map((p) => p.name)).toEqual(expect.arrayContaining(['openai', 'anthropic']));
    expect(inspect(llm, { depth: 10 })).not.toContain(OPENAI);
    expect(JSON.stringify(llm)).not.toContain(OPENAI);
  });
});

describe('CLI start-up', () => {
  it('ends with one line and exit 2 when the configured secret cannot be read', async () => {
    const { runCli } = await import('../support/cli.js');
    const vars = {
      WAFGEN_SECRETS_ARN: 'wafgen/cli-absent',
      WAFGEN_SECRETS_REGION: 'us-east-1',
      AWS_ENDPOINT_URL_SECRETS_MANAGER: fake.url,
    };
    Object.assign(process.env, vars);
    try {
      const r = await runCli(['list', '--limit', '1']);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(
        'wafgen: secrets: cannot read secret wafgen/cli-absent from Secrets Manager: ResourceNotFoundException\n',
      );
    } finally {
      for (const k of Object.keys(vars)) delete process.env[k];
    }
  });
});
