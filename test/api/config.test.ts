import { createHash } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { apiKeyEntry } from '../../src/api/auth.js';
import { assertAuthConfigured, loadServiceConfig } from '../../src/app/index.js';
import { ConfigError } from '../../src/config/index.js';

const hash = (s: string) => createHash('sha256').update(s).digest('hex');

function problems(env: NodeJS.ProcessEnv): string[] {
  try {
    loadServiceConfig(env);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
}

describe('service configuration', () => {
  it('has defaults for everything', () => {
    const c = loadServiceConfig({});
    expect(c.settings.cacheTtlS).toBe(86_400);
    expect(c.settings.generateTimeoutMs).toBe(120_000);
    expect(c.settings.lockTtlMs).toBe(10_000);
    expect(c.settings.cacheL1Ms).toBe(1000);
    expect(c.settings.redisPrefix).toBe('');
    expect(c.settings.queue).toEqual({ attempts: 3, backoffMs: 2000 });
    expect(c.settings.rateLimits).toEqual({
      default: { limit: 600, windowS: 60 },
      generate: { limit: 60, windowS: 60 },
      unauth: { limit: 60, windowS: 60 },
    });
    expect(c.maxBodyBytes).toBe(1024 * 1024);
    expect(c.trustProxy).toBe(false);
    expect(c.metrics).toEqual({});
    expect(c.worker).toEqual({
      concurrency: 4,
      lockMs: 30_000,
      stalledIntervalMs: 30_000,
      shutdownGraceMs: 25_000,
    });
    expect(c.auth).toEqual({ apiKeys: [], disabled: false });
    expect(c.webhook).toEqual({ secrets: [], toleranceS: 300, maxBytes: 1024 * 1024 });
  });

  it('names each bad variable without echoing its value', () => {
    const p = problems({
      WAFGEN_JWT_SECRET: 'short-secret-value',
      WAFGEN_CACHE_TTL_S: 'forever',
      WAFGEN_WORKER_CONCURRENCY: '0',
      WAFGEN_RATE_LIMIT: '-5',
      WAFGEN_AUTH_DISABLED: 'maybe',
      WAFGEN_WEBHOOK_SECRET: 'tiny',
      WAFGEN_JWT_JWKS_URL: 'ftp://keys.example/jwks.json',
    });
    const text = p.join('\n');
    for (const name of [
      'WAFGEN_JWT_SECRET',
      'WAFGEN_CACHE_TTL_S',
      'WAFGEN_WORKER_CONCURRENCY',
      'WAFGEN_RATE_LIMIT',
      'WAFGEN_AUTH_DISABLED',
      'WAFGEN_WEBHOOK_SECRET',
      'WAFGEN_JWT_JWKS_URL',
    ])
      expect(text).toContain(name);
    expect(text).not.toContain('short-secret-value');
    expect(text).not.toContain('tiny');
  });

  it('takes a JWT secret with issuer and audience, HS256 by default', () => {
    const c = loadServiceConfig({
      WAFGEN_JWT_SECRET: 'x'.repeat(32),
      WAFGEN_JWT_ISSUER: 'https://issuer',
      WAFGEN_JWT_AUDIENCE: 'a, b',
    });
    expect(c.auth.jwt).toMatchObject({
      issuer: 'https://issuer',
      audience: ['a', 'b'],
      algorithms: ['HS256'],
    });
  });

  it('refuses a secret and a JWKS URL together, missing issuer or audience, and mismatched algorithms', () => {
    expect(
      problems({
        WAFGEN_JWT_SECRET: 'x'.repeat(32),
        WAFGEN_JWT_JWKS_URL: 'https://idp/jwks',
        WAFGEN_JWT_ISSUER: 'i',
        WAFGEN_JWT_AUDIENCE: 'a',
      }).join(),
    ).toContain('both set');
    const missing = problems({ WAFGEN_JWT_JWKS_URL: 'https://idp/jwks' }).join('\n');
    expect(missing).toContain('WAFGEN_JWT_ISSUER is required');
    expect(missing).toContain('WAFGEN_JWT_AUDIENCE is required');
    expect(
      problems({
        WAFGEN_JWT_SECRET: 'x'.repeat(32),
        WAFGEN_JWT_ISSUER: 'i',
        WAFGEN_JWT_AUDIENCE: 'a',
        WAFGEN_JWT_ALGORITHMS: 'RS256',
      }).join(),
    ).toContain('cannot be used with WAFGEN_JWT_SECRET');
    expect(problems({ WAFGEN_JWT_ALGORITHMS: 'none' }).join()).toContain('WAFGEN_JWT_ALGORITHMS');
    expect(problems({ WAFGEN_JWT_ISSUER: 'i' }).join()).toContain('neither');
  });

  it('reads API keys as id:sha256:scopes, never the key itself', () => {
    const entry = apiKeyEntry('ci', 'k'.repeat(40), ['rules:read', 'rules:generate']);
    expect(entry).toBe(`ci:${hash('k'.repeat(40))}:rules:read,rules:generate`);
    const c = loadServiceConfig({
      WAFGEN_API_KEYS: `${entry}; ops:${hash('other-key-123456')}:rules:deploy`,
    });
    expect(c.auth.apiKeys).toEqual([
      { id: 'ci', hash: hash('k'.repeat(40)), scopes: ['rules:read', 'rules:generate'] },
      { id: 'ops', hash: hash('other-key-123456'), scopes: ['rules:deploy'] },
    ]);
    expect(problems({ WAFGEN_API_KEYS: 'ci:nothex:rules:read' }).join()).toContain('64 hex digits');
    expect(problems({ WAFGEN_API_KEYS: `ci:${hash('a')}:rules:admin` }).join()).toContain(
      'scopes other than',
    );
    expect(
      problems({ WAFGEN_API_KEYS: `ci:${hash('a')}:rules:read ci:${hash('b')}:rules:read` }).join(),
    ).toContain('repeats');
    expect(problems({ WAFGEN_API_KEYS: 'garbage' }).join()).toContain('not id:sha256hex:scopes');
  });

  it('refuses to serve without any authentication unless it is disabled explicitly', () => {
    expect(() => assertAuthConfigured(loadServiceConfig({}))).toThrow(/no authentication configured/);
    expect(() => assertAuthConfigured(loadServiceConfig({ WAFGEN_AUTH_DISABLED: '1' }))).not.toThrow();
    expect(() =>
      assertAuthConfigured(loadServiceConfig({ WAFGEN_API_KEYS: `ci:${hash('a')}:rules:read` })),
    ).not.toThrow();
  });
});
