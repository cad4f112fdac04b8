// Who is calling: a JWT bearer token (verified with jose against a shared secret or a JWKS URL, with
// issuer, audience, expiry and an algorithm allow-list enforced; `alg: none` never verifies) or an
// API key for machine clients (only its SHA-256 is configured; the presented key is hashed and
// looked up). Scopes: rules:read, rules:generate, rules:deploy.
import { createHash } from 'node:crypto';

import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { LRUCache } from 'lru-cache';

import { SCOPES, type Scope, type ServiceConfig } from '../app/index.js';
import { ApiError } from './errors.js';

export interface Principal {
  /** `jwt:<sub>`, `key:<id>` or `anonymous`: the rate-limit and audit identity. */
  id: string;
  kind: 'jwt' | 'api-key' | 'anonymous';
  scopes: ReadonlySet<Scope>;
}

export interface Credentials {
  authorization?: string | undefined;
  apiKey?: string | undefined;
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

function scopesOf(payload: JWTPayload): Set<Scope> {
  const raw: unknown[] = [];
  for (const claim of ['scope', 'scp', 'permissions']) {
    const v = payload[claim];
    if (typeof v === 'string') raw.push(...v.split(/\s+/));
    else if (Array.isArray(v)) raw.push(...v);
  }
  return new Set(raw.filter((s): s is Scope => (SCOPES as readonly unknown[]).includes(s)));
}

function unauthorized(message: string, error = 'invalid_token'): ApiError {
  return new ApiError(401, 'unauthorized', message, undefined, {
    'WWW-Authenticate': `Bearer realm="wafgen", error="${error}", error_description="${message.replace(/"/g, "'")}"`,
  });
}

function jwtProblem(e: unknown): ApiError {
  if (e instanceof errors.JWTExpired) return unauthorized('token expired');
  if (e instanceof errors.JWTClaimValidationFailed)
    return unauthorized(
      e.reason === 'missing'
        ? `token lacks the "${e.claim}" claim`
        : `token "${e.claim}" claim is not accepted`,
    );
  if (e instanceof errors.JOSEAlgNotAllowed) return unauthorized('token algorithm is not allowed');
  if (e instanceof errors.JWSSignatureVerificationFailed) return unauthorized('token signature is invalid');
  if (e instanceof errors.JWKSNoMatchingKey) return unauthorized('no trusted key matches the token');
  if (e instanceof errors.JWKSTimeout || e instanceof errors.JWKSInvalid)
    return new ApiError(
      503,
      'auth_unavailable',
      'the token keys (JWKS) could not be fetched; try again shortly',
    );
  if (e instanceof errors.JOSEError) return unauthorized('token is malformed');
  if (e instanceof TypeError) return unauthorized('token is malformed');
  return new ApiError(
    503,
    'auth_unavailable',
    'the token keys (JWKS) could not be fetched; try again shortly',
  );
}

/**
 * Refuses a token whose `iat` (issued at) or `nbf` (not before) lies more than `skewS` seconds in the
 * future: a token minted ahead of time, or by an issuer whose clock runs fast, is not valid yet
 * (issue 14). jose checks `nbf` itself but `iat` only when a maximum token age is set, so both are
 * checked here, with the same tolerance as `exp` (WAFGEN_JWT_CLOCK_TOLERANCE_S, default 5 s).
 */
function assertNotFromTheFuture(payload: JWTPayload, skewS: number, nowS: number): void {
  for (const claim of ['iat', 'nbf'] as const) {
    const at = payload[claim];
    if (at === undefined) continue;
    if (typeof at !== 'number' || !Number.isFinite(at))
      throw unauthorized(`token "${claim}" claim is not a number`);
    if (at > nowS + skewS) throw unauthorized(`token "${claim}" claim lies in the future`);
  }
}

export interface AuthenticatorOptions {
  /**
   * The clock, in milliseconds since the epoch (tests): token times are checked against it and the
   * verified-token cache expires by it. Default: Date.now, and the cache's own monotonic clock.
   */
  now?: () => number;
}

export class Authenticator {
  private readonly key: Uint8Array | JWTVerifyGetKey | undefined;
  private readonly keysByHash: Map<string, { id: string; scopes: Set<Scope> }>;
  /** Verified tokens, until they expire (at most five minutes), so hot clients skip the crypto. */
  private readonly verified: LRUCache<string, Principal>;
  private readonly now: () => number;

  constructor(
    private readonly config: ServiceConfig['auth'],
    opts: AuthenticatorOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.verified = new LRUCache<string, Principal>({
      max: 10_000,
      // An injected clock is read on every look-up (the cache's default keeps a reading for 1 ms).
      ...(opts.now ? { perf: { now: opts.now }, ttlResolution: 0 } : {}),
    });
    const jwt = config.jwt;
    this.key = jwt?.secret
      ? new TextEncoder().encode(jwt.secret)
      : jwt?.jwksUrl
        ? createRemoteJWKSet(new URL(jwt.jwksUrl), { timeoutDuration: 5000, cooldownDuration: 30_000 })
        : undefined;
    this.keysByHash = new Map(config.apiKeys.map((k) => [k.hash, { id: k.id, scopes: new Set(k.scopes) }]));
  }

  get methods(): string[] {
    return [
      ...(this.config.jwt ? ['jwt'] : []),
      ...(this.config.apiKeys.length > 0 ? ['api-key'] : []),
      ...(this.config.disabled ? ['none'] : []),
    ];
  }

  /**
   * The principal of `Authorization: Bearer <token>` when that token was verified before and is
   * still in the cache (see {@link verified}), else undefined: then {@link authenticate} decides.
   * Synchronous, so a hot request awaits nothing for it.
   */
  cachedBearer(authorization: string | undefined): Principal | undefined {
    if (authorization === undefined || !this.key) return undefined;
    // The header a client sends again and again: the token cut from it last time is looked up
    // again. Each request's header is a new string, and hashing a new ~300-character token for the
    // LRU was 0.7% of a cache-hit GET's server CPU (perf record under bench:api); comparing it with
    // the last header costs a length check or a memcmp, and the cut token keeps its hash. The look-up
    // itself (expiry included) is the same either way.
    if (authorization !== this.lastHeader) {
      if (!/^Bearer /i.test(authorization)) return undefined;
      this.lastHeader = authorization;
      this.lastToken = authorization.slice(7);
    }
    return this.verified.get(this.lastToken);
  }
  /** The last Authorization header {@link cachedBearer} read, and its token. */
  private lastHeader: string | undefined;
  private lastToken = '';

  async authenticate(creds: Credentials): Promise<Principal> {
    const auth = creds.authorization?.trim();
    if (auth) {
      const m = /^Bearer\s+(\S+)$/i.exec(auth);
      if (!m) throw unauthorized('Authorization must be "Bearer <token>"', 'invalid_request');
      return this.verifyJwt(m[1]!);
    }
    if (creds.apiKey !== undefined) return this.verifyApiKey(creds.apiKey.trim());
    if (this.config.disabled) return { id: 'anonymous', kind: 'anonymous', scopes: new Set(SCOPES) };
    throw unauthorized(
      'missing credentials: send Authorization: Bearer <token> or X-API-Key',
      'invalid_request',
    );
  }

  private async verifyJwt(token: string): Promise<Principal> {
    const jwt = this.config.jwt;
    if (!jwt || !this.key) throw unauthorized('bearer tokens are not accepted here; use an API key');
    // A cached principal passed every check below, assertNotFromTheFuture included, when it was
    // cached, and time only moves forward, so a hit needs no new check. A cache that stores anything
    // before that check, or that is keyed by less than the whole token (its subject, its signature),
    // must run assertNotFromTheFuture on every hit: test/api/auth.test.ts ("time claims") fails if not.
    const hit = this.verified.get(token);
    if (hit) return hit;
    let payload: JWTPayload;
    try {
      const options = {
        issuer: jwt.issuer,
        audience: jwt.audience,
        algorithms: jwt.algorithms,
        clockTolerance: jwt.clockToleranceS,
        requiredClaims: ['exp', 'sub'],
        currentDate: new Date(this.now()),
      };
      payload =
        this.key instanceof Uint8Array
          ? (await jwtVerify(token, this.key, options)).payload
          : (await jwtVerify(token, this.key, options)).payload;
    } catch (e) {
      throw jwtProblem(e);
    }
    assertNotFromTheFuture(payload, jwt.clockToleranceS, this.now() / 1000);
    const principal: Principal = { id: `jwt:${payload.sub}`, kind: 'jwt', scopes: scopesOf(payload) };
    const ttl = Math.min((payload.exp ?? 0) * 1000 - this.now(), 5 * 60_000);
    if (ttl > 0) this.verified.set(token, principal, { ttl });
    return principal;
  }

  private verifyApiKey(key: string): Principal {
    if (this.keysByHash.size === 0) throw unauthorized('API keys are not accepted here; use a bearer token');
    // The map is keyed by a hash of a high-entropy secret: looking it up reveals nothing about the key.
    const entry = key.length >= 16 && key.length <= 512 ? this.keysByHash.get(sha256(key)) : undefined;
    if (!entry) throw unauthorized('API key is not valid');
    return { id: `key:${entry.id}`, kind: 'api-key', scopes: entry.scopes };
  }
}

export function requireScope(principal: Principal, scope: Scope): void {
  if (!principal.scopes.has(scope))
    throw new ApiError(403, 'forbidden', `this operation needs the ${scope} scope`, undefined, {
      'WWW-Authenticate': `Bearer realm="wafgen", error="insufficient_scope", scope="${scope}"`,
    });
}

/** The value to configure in WAFGEN_API_KEYS for a key: `id:sha256:scopes`. */
export function apiKeyEntry(id: string, key: string, scopes: readonly Scope[]): string {
  return `${id}:${sha256(key)}:${scopes.join(',')}`;
}
