// Authentication over HTTP on a loopback socket: JWTs against a shared secret and against a JWKS
// served on loopback, API keys stored hashed, scopes.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { apiKeyEntry, Authenticator } from '../../src/api/auth.js';
import { ApiError } from '../../src/api/errors.js';
import type { Store } from '../../src/store/index.js';
import {
  baseEnv,
  call,
  JWT_AUDIENCE,
  JWT_ISSUER,
  openTestStore,
  startApi,
  token,
  type TestApi,
} from '../service/support.js';

const READ_KEY = 'wgk_read_0123456789abcdefghijklmnopqrstuv';
const GEN_KEY = 'wgk_generate_0123456789abcdefghijklmnopqr';

let store: Store;
let hmacApi: TestApi;
let jwksApi: TestApi;
let jwksServer: Server;
let rsa: Awaited<ReturnType<typeof generateKeyPair>>;
let otherRsa: Awaited<ReturnType<typeof generateKeyPair>>;

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

beforeAll(async () => {
  ({ store } = await openTestStore());
  rsa = await generateKeyPair('RS256', { extractable: true });
  otherRsa = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(rsa.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  jwksServer = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', r));
  const jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/.well-known/jwks.json`;
  hmacApi = await startApi(
    baseEnv({
      WAFGEN_API_KEYS: [
        apiKeyEntry('reader', READ_KEY, ['rules:read']),
        apiKeyEntry('generator', GEN_KEY, ['rules:read', 'rules:generate']),
      ].join(';'),
    }),
    { store },
  );
  jwksApi = await startApi(
    baseEnv({
      WAFGEN_JWT_SECRET: undefined,
      WAFGEN_JWT_JWKS_URL: jwksUrl,
      WAFGEN_JWT_ALGORITHMS: 'RS256,ES256',
    }),
    { store },
  );
}, 60_000);

afterAll(async () => {
  await hmacApi?.close();
  await jwksApi?.close();
  await new Promise((r) => jwksServer?.close(r));
  await store?.close();
});

const rules = (api: TestApi) => `${api.url}/v1/rules/CVE-2021-44228/versions`;

async function expect401(api: TestApi, headers: Record<string, string>, message: RegExp): Promise<void> {
  const r = await call<{ error: { code: string; message: string } }>(rules(api), { headers });
  expect(r.status).toBe(401);
  expect(r.body.error.code).toBe('unauthorized');
  expect(r.body.error.message).toMatch(message);
  expect(r.headers.get('www-authenticate')).toMatch(/^Bearer realm="wafgen"/);
}

describe('JWT with a shared secret', () => {
  it('accepts a valid token (404 here only because no rule exists yet)', async () => {
    const r = await call(rules(hmacApi), { token: await token() });
    expect(r.status).toBe(404);
  });

  it('refuses a missing token', async () => {
    await expect401(hmacApi, {}, /missing credentials/);
  });

  it('refuses an expired token', async () => {
    const t = await token({}, { expiresIn: Math.floor(Date.now() / 1000) - 60 });
    await expect401(hmacApi, { authorization: `Bearer ${t}` }, /expired/);
  });

  it('refuses a token for another audience', async () => {
    const t = await token({}, { audience: 'some-other-api' });
    await expect401(hmacApi, { authorization: `Bearer ${t}` }, /"aud" claim/);
  });

  it('refuses a token from another issuer', async () => {
    const t = await token({}, { issuer: 'https://evil.example' });
    await expect401(hmacApi, { authorization: `Bearer ${t}` }, /"iss" claim/);
  });

  it('refuses alg: none', async () => {
    const now = Math.floor(Date.now() / 1000);
    const unsigned = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({
      sub: 'mallory',
      iss: JWT_ISSUER,
      aud: JWT_AUDIENCE,
      exp: now + 600,
      scope: 'rules:read rules:generate rules:deploy',
    })}.`;
    await expect401(hmacApi, { authorization: `Bearer ${unsigned}` }, /algorithm is not allowed|malformed/);
  });

  it('refuses a token signed with the wrong key', async () => {
    const t = await token({}, { secret: 'another-secret-of-sufficient-length-000000' });
    await expect401(hmacApi, { authorization: `Bearer ${t}` }, /signature is invalid/);
  });

  it('refuses a token with an algorithm outside the allow-list', async () => {
    const t = await token({}, { alg: 'HS512' });
    await expect401(hmacApi, { authorization: `Bearer ${t}` }, /algorithm is not allowed/);
  });

  it('refuses a token without a subject, malformed tokens and other schemes', async () => {
    const noSub = await new SignJWT({ scope: 'rules:read' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(JWT_ISSUER)
      .setAudience(JWT_AUDIENCE)
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode('test-secret-for-wafgen-jwt-hs256-0123456789'));
    await expect401(hmacApi, { authorization: `Bearer ${noSub}` }, /"sub" claim/);
    await expect401(hmacApi, { authorization: 'Bearer not.a.jwt' }, /malformed/);
    await expect401(hmacApi, { authorization: 'Basic dXNlcjpwYXNz' }, /Bearer <token>/);
  });

  it('answers 403 when the token lacks the scope', async () => {
    const t = await token({ scope: 'rules:read' });
    const r = await call<{ error: { code: string; message: string } }>(`${hmacApi.url}/v1/rules/generate`, {
      token: t,
      body: { cveId: 'CVE-2021-44228' },
    });
    expect(r.status).toBe(403);
    expect(r.body.error).toMatchObject({ code: 'forbidden' });
    expect(r.body.error.message).toContain('rules:generate');
    expect(r.headers.get('www-authenticate')).toContain('insufficient_scope');
  });

  it('reads scopes from scp and permissions arrays too', async () => {
    const t1 = await token({ scope: undefined, scp: ['rules:read'] });
    expect((await call(rules(hmacApi), { token: t1 })).status).toBe(404);
    const t2 = await token({ scope: undefined, permissions: ['rules:read'] });
    expect((await call(rules(hmacApi), { token: t2 })).status).toBe(404);
    const none = await token({ scope: 'admin' });
    expect((await call(rules(hmacApi), { token: none })).status).toBe(403);
  });
});

// Issue 14: a token whose iat or nbf lies in the future beyond the clock tolerance
// (WAFGEN_JWT_CLOCK_TOLERANCE_S, 5 s by default) is refused. The authenticator caches verified tokens:
// the cache tests below fail if a cache ever answers for a token that did not pass this check.
describe('time claims', () => {
  const secret = new TextEncoder().encode(baseEnv().WAFGEN_JWT_SECRET!);
  const now = () => Math.floor(Date.now() / 1000);
  const timed = (times: { iat?: number; nbf?: number }, sub = 'clock-tester') => {
    const jwt = new SignJWT({ scope: 'rules:read', ...times })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(sub)
      .setIssuer(JWT_ISSUER)
      .setAudience(JWT_AUDIENCE)
      .setExpirationTime(now() + 3600);
    return jwt.sign(secret);
  };

  it('refuses a token issued in the future (iat beyond the tolerance)', async () => {
    const t = await timed({ iat: now() + 3600 });
    await expect401(hmacApi, { authorization: `Bearer ${t}` }, /"iat" claim lies in the future/);
  });

  it('refuses a token not valid before a future time (nbf beyond the tolerance)', async () => {
    const t = await timed({ iat: now(), nbf: now() + 3600 });
    await expect401(hmacApi, { authorization: `Bearer ${t}` }, /"nbf" claim/);
  });

  it('accepts iat and nbf a little ahead, within the tolerance (clock skew)', async () => {
    const t = await timed({ iat: now() + 2, nbf: now() + 2 });
    expect((await call(rules(hmacApi), { token: t })).status).toBe(404);
  });

  it('a cache never answers for a future token: not on a second try, not for the same subject', async () => {
    const sub = 'cached-subject';
    // A valid token of this subject is verified and cached first.
    const valid = await timed({ iat: now() }, sub);
    expect((await call(rules(hmacApi), { token: valid })).status).toBe(404);
    expect((await call(rules(hmacApi), { token: valid })).status).toBe(404);
    // The same subject and scopes, issued in the future: refused, every time.
    const future = await timed({ iat: now() + 3600 }, sub);
    for (let i = 0; i < 3; i++)
      await expect401(hmacApi, { authorization: `Bearer ${future}` }, /"iat" claim lies in the future/);
    const notYet = await timed({ iat: now(), nbf: now() + 3600 }, sub);
    for (let i = 0; i < 3; i++)
      await expect401(hmacApi, { authorization: `Bearer ${notYet}` }, /"nbf" claim/);
  });

  it('takes its tolerance from the configuration (60 s here)', async () => {
    const auth = new Authenticator({
      jwt: {
        secret: baseEnv().WAFGEN_JWT_SECRET!,
        issuer: JWT_ISSUER,
        audience: [JWT_AUDIENCE],
        algorithms: ['HS256'],
        clockToleranceS: 60,
      },
      apiKeys: [],
      disabled: false,
    });
    const bearer = async (times: { iat?: number; nbf?: number }) =>
      auth.authenticate({ authorization: `Bearer ${await timed(times)}` });
    await expect(bearer({ iat: now() + 45, nbf: now() + 45 })).resolves.toMatchObject({ kind: 'jwt' });
    for (const times of [{ iat: now() + 120 }, { nbf: now() + 120 }]) {
      const t = await timed(times);
      // Twice: the second presentation must not be answered by a cache.
      for (let i = 0; i < 2; i++) {
        const e = await auth.authenticate({ authorization: `Bearer ${t}` }).catch((err: unknown) => err);
        expect(e).toBeInstanceOf(ApiError);
        expect((e as ApiError).status).toBe(401);
      }
    }
  });
});

describe("tokens verified before (cachedBearer, the hot paths' look-up)", () => {
  const authenticator = () =>
    new Authenticator({
      jwt: {
        secret: baseEnv().WAFGEN_JWT_SECRET!,
        issuer: JWT_ISSUER,
        audience: [JWT_AUDIENCE],
        algorithms: ['HS256'],
        clockToleranceS: 5,
      },
      apiKeys: [],
      disabled: false,
    });

  it('answers only for the exact token verified, whatever header came before', async () => {
    const auth = authenticator();
    const [a, b, unverified] = await Promise.all([
      token({ sub: 'cached-a' }),
      token({ sub: 'cached-b' }),
      token({ sub: 'cached-never' }),
    ]);
    expect(auth.cachedBearer(`Bearer ${a}`)).toBeUndefined();
    await auth.authenticate({ authorization: `Bearer ${a}` });
    await auth.authenticate({ authorization: `Bearer ${b}` });
    // Alternating headers, each a new string as a request's would be, and repeats of each.
    const fresh = (s: string) => [...s].join('');
    const order = [a, a, b, a, b, b, unverified, a, unverified];
    const seen = order.map((t) => auth.cachedBearer(fresh(`Bearer ${t}`))?.id);
    expect(seen).toEqual([
      'jwt:cached-a',
      'jwt:cached-a',
      'jwt:cached-b',
      'jwt:cached-a',
      'jwt:cached-b',
      'jwt:cached-b',
      undefined,
      'jwt:cached-a',
      undefined,
    ]);
    // The scheme is case-insensitive; anything else, or a token with one character changed, is not it.
    expect(auth.cachedBearer(`bearer ${a}`)?.id).toBe('jwt:cached-a');
    expect(auth.cachedBearer(`Basic ${a}`)).toBeUndefined();
    expect(auth.cachedBearer(`Bearer ${a.slice(0, -1)}${a.endsWith('A') ? 'B' : 'A'}`)).toBeUndefined();
    expect(auth.cachedBearer(a)).toBeUndefined();
    expect(auth.cachedBearer('')).toBeUndefined();
    expect(auth.cachedBearer(undefined)).toBeUndefined();
  });

  it('forgets a token at its expiry, so the hot paths hand it to the app from then on', async () => {
    // The authenticator's clock is the test's: token times and the cache's expiry both follow it.
    const T0 = 1_900_000_000; // seconds since the epoch
    let nowMs = (T0 + 30) * 1000;
    const auth = new Authenticator(
      {
        jwt: {
          secret: baseEnv().WAFGEN_JWT_SECRET!,
          issuer: JWT_ISSUER,
          audience: [JWT_AUDIENCE],
          algorithms: ['HS256'],
          clockToleranceS: 5,
        },
        apiKeys: [],
        disabled: false,
      },
      { now: () => nowMs },
    );
    const t = await new SignJWT({ scope: 'rules:read' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('short-lived')
      .setIssuer(JWT_ISSUER)
      .setAudience(JWT_AUDIENCE)
      .setIssuedAt(T0)
      .setExpirationTime(T0 + 60)
      .sign(new TextEncoder().encode(baseEnv().WAFGEN_JWT_SECRET!));
    const header = `Bearer ${t}`;
    await auth.authenticate({ authorization: header });
    expect(auth.cachedBearer(header)?.id).toBe('jwt:short-lived');
    nowMs = (T0 + 59) * 1000 + 999;
    expect(auth.cachedBearer(header)?.id).toBe('jwt:short-lived');
    nowMs = (T0 + 60) * 1000 + 1;
    expect(auth.cachedBearer(header)).toBeUndefined();
    // Within the clock tolerance (5 s) the token still verifies, and is not remembered past its exp.
    nowMs = (T0 + 63) * 1000;
    expect((await auth.authenticate({ authorization: header })).id).toBe('jwt:short-lived');
    expect(auth.cachedBearer(header)).toBeUndefined();
    // Past the tolerance it is refused.
    nowMs = (T0 + 66) * 1000;
    await expect(auth.authenticate({ authorization: header })).rejects.toMatchObject({ status: 401 });
  });
});

describe('API keys', () => {
  it('accepts a configured key with its scopes', async () => {
    expect((await call(rules(hmacApi), { headers: { 'x-api-key': READ_KEY } })).status).toBe(404);
    const r = await call(`${hmacApi.url}/v1/rules/generate`, {
      headers: { 'x-api-key': READ_KEY },
      body: { cveId: 'CVE-2021-44228' },
    });
    expect(r.status).toBe(403);
  });

  it('refuses an unknown key', async () => {
    await expect401(hmacApi, { 'x-api-key': `${READ_KEY}x` }, /API key is not valid/);
    await expect401(hmacApi, { 'x-api-key': 'short' }, /API key is not valid/);
  });

  it('is refused where no keys are configured', async () => {
    await expect401(jwksApi, { 'x-api-key': GEN_KEY }, /API keys are not accepted/);
  });
});

describe('JWT against a JWKS URL', () => {
  const rsToken = async (
    key: Parameters<SignJWT['sign']>[0],
    kid = 'k1',
    claims: Record<string, unknown> = {},
  ) =>
    new SignJWT({ scope: 'rules:read', ...claims })
      .setProtectedHeader({ alg: 'RS256', kid })
      .setSubject('svc')
      .setIssuer(JWT_ISSUER)
      .setAudience(JWT_AUDIENCE)
      .setExpirationTime('5m')
      .sign(key);

  it('accepts a token signed by a published key', async () => {
    const r = await call(rules(jwksApi), { token: await rsToken(rsa.privateKey) });
    expect(r.status).toBe(404);
  });

  it('refuses a token signed by another key under the same kid', async () => {
    await expect401(
      jwksApi,
      { authorization: `Bearer ${await rsToken(otherRsa.privateKey)}` },
      /signature is invalid/,
    );
  });

  it('refuses a token whose kid is not published', async () => {
    await expect401(
      jwksApi,
      { authorization: `Bearer ${await rsToken(rsa.privateKey, 'k2')}` },
      /no trusted key/,
    );
  });

  it('refuses an HMAC token (algorithm confusion)', async () => {
    await expect401(jwksApi, { authorization: `Bearer ${await token()}` }, /algorithm is not allowed/);
  });

  it('refuses an expired token', async () => {
    const t = await new SignJWT({ scope: 'rules:read' })
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setSubject('svc')
      .setIssuer(JWT_ISSUER)
      .setAudience(JWT_AUDIENCE)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 120)
      .sign(rsa.privateKey);
    await expect401(jwksApi, { authorization: `Bearer ${t}` }, /expired/);
  });
});
