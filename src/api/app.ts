/**
 * @module The HTTP API (Hono): routes declared once with Zod schemas that both validate requests
 * and write the OpenAPI document; the middleware (request id and metrics, security headers, body
 * limit, the auth + rate limit + scope guard) lives in ./middleware, one module each; every error
 * in one JSON shape. Runtime-neutral: imports no `node:` module, so the Node server, AWS Lambda and
 * Vercel adapters (./adapters) all serve this same app.
 */
import { createRoute, OpenAPIHono, type z } from '@hono/zod-openapi';
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { bearerAuth } from 'hono/bearer-auth';
import { LRUCache } from 'lru-cache';
import { type Logger, pino } from 'pino';

import type { RuleView, Service, ServiceConfig } from '../app/index.js';
import { testRules, validateRules, WafgenInputError } from '../app/library.js';
import { Authenticator, type Principal } from './auth.js';
import { ApiError, type BackendClassifier, errorBody, sendError, toApiError, zodFields } from './errors.js';
import { attachHotPath, createHotPath } from './hot-path.js';
import { registerConsole } from './console/index.js';
import { registerDeploymentRoutes } from './deployments.js';
import { registerDocs } from './docs.js';
import { ApiMetrics } from './metrics.js';
import { bodyLimitMiddleware } from './middleware/body-limit.js';
import { createFailedAuth, createGuard, createRateLimit } from './middleware/guard.js';
import { requestIdMiddleware } from './middleware/request-id.js';
import { plainResponse, setResponseHeader, type ResponseHeaders } from './middleware/response-headers.js';
import {
  CveParams,
  errorResponses,
  GenerateBody,
  GenericWebhook,
  GitHubDependabotAlert,
  GitHubSecurityAdvisory,
  HealthResponse,
  JobParams,
  JobResponse,
  JobsBody,
  JobsResponse,
  RuleResponse,
  TestBody,
  TestResponse,
  ValidateBody,
  ValidateResponse,
  VersionQuery,
  isCveId,
  VersionsResponse,
  WebhookResponse,
} from './schemas.js';
import { parseWebhook, verifyWebhookSignature } from './webhook.js';
import { claimDelivery, duplicateDelivery } from './webhook-replay.js';

interface AppVariables {
  requestId: string;
  principal: Principal;
  responseHeaders: ResponseHeaders;
}

export type ApiApp = OpenAPIHono<{ Variables: AppVariables }>;

export interface AppOptions {
  logger?: Logger;
  metrics?: ApiMetrics;
  /** Recognises errors that mean PostgreSQL or Redis is down (answered 503); see runtime.ts. */
  backends?: BackendClassifier;
  /**
   * Something runs queued jobs: a queue with workers elsewhere (BullMQ, SQS) or this process's own
   * worker (default true). False (a serverless API with neither Redis nor SQS): async work is refused.
   */
  asyncJobs?: boolean;
}

const BODY_METHODS = ['POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
const WEBHOOK_PATH = '/webhook/vulnerability';
const SECURITY: Record<string, string[]>[] = [{ bearerAuth: [] }, { apiKeyAuth: [] }];
/** Most evaluations one /v1/rules/test request may ask for (requests plus their variants). */
const MAX_TEST_EVALUATIONS = 5000;

/** The answer to async work where nothing would ever run it (runtime.ts says when). */
function noQueueError(): ApiError {
  return new ApiError(
    503,
    'queue_unavailable',
    'no job queue that can run jobs is configured for this deployment: set WAFGEN_QUEUE=sqs and WAFGEN_SQS_QUEUE_URL (with the worker Lambda), or REDIS_URL (with wafgen worker processes); POST /v1/rules/generate works without one',
  );
}

/** Runs a call into the programmatic API: its bad-input error is this API's 400, naming each field. */
async function libraryCall<T>(f: () => T | Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if (e instanceof WafgenInputError) throw new ApiError(400, 'invalid_request', e.message, e.issues);
    throw e;
  }
}

/** The words /readyz answers for a check that is down (the detail goes to the log). */
const GENERIC_NAMES: Record<string, string> = { store: 'store', redis: 'cache', queue: 'queue' };

/** The /metrics app of each API app whose metrics are served on a port of their own. */
const separateMetrics = new WeakMap<ApiApp, Hono>();

/** The app that serves /metrics apart from `app` (WAFGEN_METRICS_PORT), if any. */
export function metricsAppOf(app: ApiApp): Hono | undefined {
  return separateMetrics.get(app);
}

/**
 * Encoded rule bodies, per cached view and cache flag: views are immutable, so a hot rule is
 * serialized and UTF-8 encoded once, not on every request.
 */
const encoded = new WeakMap<RuleView, Map<string, Uint8Array<ArrayBuffer>>>();
const utf8 = new TextEncoder();
const JSON_TYPE = { 'Content-Type': 'application/json' } as const;
/** The extra headers of a rule answer, by how the cache answered (built once, not per request). */
const HIT_HEADERS: Record<'hit' | 'miss' | 'bypass', Record<string, string>> = {
  hit: { ...JSON_TYPE, 'X-Cache': 'hit' },
  miss: { ...JSON_TYPE, 'X-Cache': 'miss' },
  bypass: { ...JSON_TYPE, 'X-Cache': 'bypass' },
};

/** `{"cache":"hit",...rule}` as UTF-8 JSON. */
function ruleJson(view: RuleView, cache: string): Uint8Array<ArrayBuffer> {
  let byFlag = encoded.get(view);
  if (!byFlag) {
    byFlag = new Map();
    encoded.set(view, byFlag);
  }
  let bytes = byFlag.get(cache);
  if (!bytes) {
    bytes = utf8.encode(JSON.stringify({ cache, ...ruleBody(view) }));
    byFlag.set(cache, bytes);
  }
  return bytes;
}

function ruleBody(view: RuleView): z.infer<typeof RuleResponse> {
  return {
    cveId: view.cveId,
    ...(view.version !== undefined ? { version: view.version } : {}),
    rule: view.rule as Record<string, unknown>,
    report: view.report as Record<string, unknown>,
    engine: view.engine,
    verdict: view.verdict,
    confidence: view.confidence,
    summary: view.summary,
    passed: view.passed,
    ...(view.createdAt ? { createdAt: view.createdAt } : {}),
  };
}

export function createApp(service: Service, config: ServiceConfig, opts: AppOptions = {}): ApiApp {
  const log = opts.logger ?? service.log ?? pino({ level: 'silent' });
  const metrics = opts.metrics ?? new ApiMetrics(service, service.metrics);
  const auth = new Authenticator(config.auth);

  const app: ApiApp = new OpenAPIHono<{ Variables: AppVariables }>({
    defaultHook: (result, c) => {
      // Paths name the field itself: `cveId` for a path parameter, `options.maxAttempts` in a body.
      if (!result.success)
        return c.json(errorBody(c, 'invalid_request', 'invalid request', zodFields(result.error)), 400);
      return undefined;
    },
  });

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description:
      'A JWT from the configured issuer, for the configured audience; scopes in `scope`, `scp` or `permissions`.',
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'apiKeyAuth', {
    type: 'apiKey',
    in: 'header',
    name: 'X-API-Key',
    description: 'An API key for machine clients (the server stores only its SHA-256).',
  });

  /**
   * Validation reports, encoded, by caller, content type and exact request body: validating is a
   * pure function of the body (the document, cveId and searchStringEncoding; no clock, no
   * configuration) once the content type let it through, so a body seen before gets the bytes it
   * got then. Auth, the rate limit and the scope still run first on every request; a repeat skips
   * the media-type gate, JSON.parse and the Zod check, which answered the same for the same bytes
   * (only 200 answers are kept). Keyed per principal so one caller cannot learn from the timing
   * what documents another validated. The key is the caller, the content type, the body's length
   * and three 64-character slices of it (start, middle, end); the entry keeps the whole body, and
   * only an equal one gets its answer (another body with the same key is a miss, and its report
   * replaces the entry). Why not the body itself as the key: V8 hashes every character of a new
   * 3 KB string, 4.2 µs a lookup against 0.6 µs with the slices (a throwaway loop of TextDecoder
   * and lru-cache over the CVE-2021-44228 validate body, 200,000 lookups, three runs), and the
   * hashing was 4% of the server's CPU under bench:api's repeated validate (perf record on the
   * server). No digest either: SHA-256 costs more than the hash, and this module imports no `node:`
   * module. Bounded by entries and bytes (keys and bodies included).
   * Measured (npm run bench:api, POST /v1/rules/validate of the CVE-2021-44228 rule, 50
   * connections): 8.4 ms of server CPU per request and 45-125 req/s (0.01x bare) before regexes
   * were cached per process, 0.7-0.9 ms after (0.06x bare); with this cache 0.16-0.29 ms and
   * 0.24-0.51x bare over five runs on a shared 2-CPU machine (load 10-15).
   */
  const validations = new LRUCache<string, { body: string; bytes: Uint8Array<ArrayBuffer> }>({
    max: 1000,
    maxSize: 8 * 1024 * 1024,
    maxEntrySize: 1024 * 1024,
    sizeCalculation: ({ body, bytes }, key) => bytes.byteLength + (key.length + body.length) * 2,
  });

  // --- cross-cutting middleware -------------------------------------------------------------------
  // Request id, the security headers on every response, the access log and the request metrics.
  app.use('*', requestIdMiddleware(log, metrics));
  // Requests of these methods may carry a body (a GET's is never read: no route takes one).
  // Bytes counted while reading and JSON nesting scanned before parsing (./middleware/body-limit).
  const bodyBytes = { limit: 'body-bytes', max: config.maxBodyBytes } as const;
  const webhookBytes = { limit: 'webhook-bytes', max: config.webhook.maxBytes } as const;
  app.on(
    BODY_METHODS,
    '*',
    bodyLimitMiddleware((c) => (c.req.path === WEBHOOK_PATH ? webhookBytes : bodyBytes)),
  );

  app.onError((err, c) => {
    const down = opts.backends?.(err);
    const apiError = toApiError(err, opts.backends);
    if (down)
      log.warn(
        { requestId: c.get('requestId'), backend: down.backend, detail: down.detail },
        'backend unavailable',
      );
    else if (apiError.code === 'generation_failed')
      log.warn({ requestId: c.get('requestId'), err }, 'generation failed');
    else if (apiError.status >= 500 && apiError.code === 'internal')
      log.error({ requestId: c.get('requestId'), err }, 'unhandled error');
    return sendError(c, apiError);
  });
  app.notFound((c) => c.json(errorBody(c, 'not_found', `no route for ${c.req.method} ${c.req.path}`), 404));

  /** Authenticates, counts the request against the principal's rate limit, and checks the scope. */
  const rateLimit = createRateLimit(service.limiter, metrics);
  const failedAuth = createFailedAuth(rateLimit, config.trustProxy);
  const guard = createGuard(auth, rateLimit, failedAuth);

  // --- operations ----------------------------------------------------------------------------------
  app.get('/healthz', (c) => c.json({ status: 'ok' }));

  app.openapi(
    createRoute({
      method: 'get',
      path: '/readyz',
      tags: ['operations'],
      summary: 'Readiness: the store, Redis and the queue',
      description:
        '200 while the store answers (status `degraded` when Redis or the queue does not: rules are then served from the store); 503 when the store is down.',
      responses: {
        200: { description: 'Ready', content: { 'application/json': { schema: HealthResponse } } },
        503: { description: 'Not ready', content: { 'application/json': { schema: HealthResponse } } },
      },
    }),
    async (c) => {
      const health = await service.health();
      // What failed is logged; the answer says which dependency in generic words (no driver text,
      // host or port for anyone who can reach the port).
      const checks: typeof health.checks = { ...health.checks };
      for (const [name, check] of Object.entries(health.checks)) {
        if (check.status !== 'down') continue;
        log.warn({ check: name, backend: check.backend, detail: check.error }, 'readiness check failed');
        checks[name as keyof typeof checks] = {
          status: 'down',
          backend: check.backend,
          error: `${GENERIC_NAMES[name] ?? name} unavailable`,
        };
      }
      if (health.status === 'down') c.header('Retry-After', '5');
      return c.json({ status: health.status, checks }, health.status === 'down' ? 503 : 200);
    },
  );

  // The scrape: on the API unless WAFGEN_METRICS_PORT moves it to a listener of its own (the Node
  // server opens it, see metricsAppOf); behind a bearer token when WAFGEN_METRICS_TOKEN is set.
  const metricsApp = new Hono();
  metricsApp.onError((err, c) => sendError(c, toApiError(err)));
  metricsApp.notFound((c) =>
    c.json(errorBody(c, 'not_found', `no route for ${c.req.method} ${c.req.path}`), 404),
  );
  if (config.metrics.token) metricsApp.use('/metrics', bearerAuth({ token: config.metrics.token }));
  metricsApp.get('/metrics', async (c) => {
    c.header('Content-Type', metrics.contentType);
    return c.body(await metrics.scrape());
  });
  if (config.metrics.port === undefined) app.route('/', metricsApp);
  else separateMetrics.set(app, metricsApp);

  // --- rules ---------------------------------------------------------------------------------------
  /** The `validations` key of a body: caller, content type, length, and slices of the body. */
  const validationKey = (principal: string, contentType: string, body: string): string => {
    const n = body.length;
    const mid = n >> 1;
    const slices = n <= 192 ? body : body.slice(0, 64) + body.slice(mid - 32, mid + 32) + body.slice(n - 64);
    return `${principal}\n${contentType}\n${n}\n${slices}`;
  };
  /** The key of this request's body (after the guard: the principal is known). */
  const keyOf = (c: Context, body: string): string =>
    validationKey((c.get('principal') as Principal).id, c.req.header('content-type') ?? '', body);
  /** The answer this caller got for this exact body before (see `validations`), if it is kept. */
  const validatedAnswer = (key: string, body: string): Uint8Array<ArrayBuffer> | undefined => {
    const kept = validations.get(key);
    return kept !== undefined && kept.body === body ? kept.bytes : undefined;
  };
  /** A body this caller validated before: its answer, before any parsing. */
  const validatedBefore: MiddlewareHandler = async (c, next) => {
    const body = await c.req.text();
    const bytes = validatedAnswer(keyOf(c, body), body);
    if (!bytes) return next();
    return plainResponse(c, 200, bytes, JSON_TYPE);
  };

  /** The latest rule's pre-encoded answer (a hot key is served from the cache's in-process layer). */
  const latestRule = async (c: Context, id: string): Promise<Response> => {
    const found = await service.rules.latest(id);
    if (!found)
      throw new ApiError(404, 'not_found', `no rule stored for ${id}; POST /v1/rules/generate makes one`);
    return plainResponse(c, 200, ruleJson(found.view, found.cache), HIT_HEADERS[found.cache]);
  };
  /**
   * GET /v1/rules/:cveId as clients send it (no query string, a well-formed CVE ID), answered
   * before the Zod validators: they would accept exactly this (isCveId is CveParams' rule) and
   * cost more than the rest of a cache hit. Anything else goes on to them (and to their 400s).
   */
  const latestWithoutQuery: MiddlewareHandler = (c, next) => {
    if (c.req.url.includes('?')) return next();
    const cveId = c.req.param('cveId');
    if (cveId === undefined || !isCveId(cveId)) return next();
    const id = cveId.toUpperCase();
    // A hot rule: in this process's layer of the cache, answered with nothing awaited.
    const near = service.rules.latestNear(id);
    if (near) return Promise.resolve(plainResponse(c, 200, ruleJson(near, 'hit'), HIT_HEADERS.hit));
    return latestRule(c, id);
  };

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/rules/{cveId}',
      tags: ['rules'],
      summary: 'The latest rule for a CVE (or ?version=N)',
      security: SECURITY,
      middleware: [guard('rules:read'), latestWithoutQuery] as const,
      request: { params: CveParams, query: VersionQuery },
      responses: {
        200: {
          description: 'The rule and its report',
          content: { 'application/json': { schema: RuleResponse } },
        },
        ...errorResponses(400, 401, 403, 404, 429),
      },
    }),
    async (c) => {
      const { cveId } = c.req.valid('param');
      const { version } = c.req.valid('query');
      const id = cveId.toUpperCase();
      if (version === undefined) return (await latestRule(c, id)) as never;
      const view = await service.rules.version(id, version);
      if (!view) throw new ApiError(404, 'not_found', `${id} has no rule version ${version}`);
      return c.json(ruleBody(view), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/rules/{cveId}/versions',
      tags: ['rules'],
      summary: 'Every stored version of the rule for a CVE, oldest first',
      security: SECURITY,
      middleware: [guard('rules:read')] as const,
      request: { params: CveParams },
      responses: {
        200: { description: 'The versions', content: { 'application/json': { schema: VersionsResponse } } },
        ...errorResponses(400, 401, 403, 404, 429),
      },
    }),
    async (c) => {
      const id = c.req.valid('param').cveId.toUpperCase();
      const versions = await service.rules.versions(id);
      if (versions.length === 0) throw new ApiError(404, 'not_found', `no rule stored for ${id}`);
      return c.json(
        {
          cveId: id,
          versions: versions.map((v) => ({
            version: v.version,
            engine: v.engine,
            ...(v.provider ? { provider: v.provider } : {}),
            ...(v.model ? { model: v.model } : {}),
            verdict: v.verdict,
            confidence: v.confidence,
            summary: v.summary,
            passed: v.passed,
            createdAt: v.createdAt,
          })),
        },
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/rules/generate',
      tags: ['rules'],
      summary: 'Generate (or fetch the cached) rule for one CVE, synchronously',
      description:
        'Served from the cache when this engine version already made the rule (`cache: hit`); otherwise generated, once per burst of identical requests across replicas. `verdict` and `summary` say what was proven (a rule with no exploit request to test is `untested`, never passed). When the engine can write no rule at all the answer is 422 `no_rule`, with what it recognised and what evidence it needs. When generation fails the last good rule is returned with `degraded: true` and the reason; 503 when there is none.',
      security: SECURITY,
      middleware: [guard('rules:generate', 'generate')] as const,
      request: { body: { required: true, content: { 'application/json': { schema: GenerateBody } } } },
      responses: {
        200: {
          description: 'The rule and its report',
          content: { 'application/json': { schema: RuleResponse } },
        },
        ...errorResponses(400, 401, 403, 413, 415, 422, 429, 503),
      },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const outcome = await service.rules.generate(body.cveId, {
        ...(body.options?.maxAttempts ? { maxAttempts: body.options.maxAttempts } : {}),
        ...(body.options?.candidates ? { candidates: body.options.candidates } : {}),
        ...(body.options?.judge ? { judge: body.options.judge } : {}),
        // Concurrent requests on this server naming a batch share a first-attempt LLM call.
        ...(body.options?.llmBatch ? { llmBatch: body.options.llmBatch } : {}),
        ...(body.options?.force ? { force: true } : {}),
        requestId: c.get('requestId'),
        principal: c.get('principal').id,
      });
      if (!outcome.degraded)
        return plainResponse(
          c,
          200,
          ruleJson(outcome.result, outcome.cache),
          HIT_HEADERS[outcome.cache],
        ) as never;
      metrics.degraded.inc({ source: outcome.degraded.source });
      setResponseHeader(c, 'X-Cache', outcome.cache);
      return c.json(
        {
          ...ruleBody(outcome.result),
          cache: outcome.cache,
          degraded: true,
          reason: outcome.degraded.reason,
        },
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/rules/validate',
      tags: ['rules'],
      summary: 'Validate a WAFv2 rule document (schema, API constraints, capacity, lint)',
      security: SECURITY,
      middleware: [guard('rules:read'), validatedBefore] as const,
      request: { body: { required: true, content: { 'application/json': { schema: ValidateBody } } } },
      responses: {
        200: {
          description: 'The validation report',
          content: { 'application/json': { schema: ValidateResponse } },
        },
        ...errorResponses(400, 401, 403, 413, 415, 429),
      },
    }),
    async (c) => {
      const body = c.req.valid('json');
      // The body as read (already parsed and checked above): the whole input of the validation.
      const text = await c.req.text();
      const key = keyOf(c, text);
      let bytes = validatedAnswer(key, text);
      if (!bytes) {
        const report = await libraryCall(() =>
          validateRules(body.document, {
            ...(body.cveId ? { cveId: body.cveId } : {}),
            ...(body.searchStringEncoding ? { searchStringEncoding: body.searchStringEncoding } : {}),
          }),
        );
        const answer: z.infer<typeof ValidateResponse> = {
          ...report,
          findings: report.findings as unknown as Record<string, unknown>[],
        };
        bytes = utf8.encode(JSON.stringify(answer));
        validations.set(key, { body: text, bytes });
      }
      return plainResponse(c, 200, bytes, JSON_TYPE) as never;
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/rules/test',
      tags: ['rules'],
      summary: 'Run a rule document against requests (and their evasion variants) with the local evaluator',
      security: SECURITY,
      middleware: [guard('rules:read')] as const,
      request: { body: { required: true, content: { 'application/json': { schema: TestBody } } } },
      responses: {
        200: {
          description: 'Per-request results and a summary',
          content: { 'application/json': { schema: TestResponse } },
        },
        ...errorResponses(400, 401, 403, 413, 415, 429),
      },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const outcome = await libraryCall(() =>
        testRules(body.document, body.requests, {
          ...(body.variants ? { variants: true } : {}),
          maxEvaluations: MAX_TEST_EVALUATIONS,
        }),
      );
      return c.json({ results: outcome.results, summary: outcome.summary }, 200);
    },
  );

  // --- jobs ----------------------------------------------------------------------------------------
  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/jobs',
      tags: ['jobs'],
      summary: 'Queue generation for one or many CVEs',
      description:
        'Job ids are idempotent per CVE and engine version: queueing the same CVE again returns the same job (`created: false`) unless it failed, or `options.force` is set.',
      security: SECURITY,
      middleware: [guard('rules:generate', 'generate')] as const,
      request: { body: { required: true, content: { 'application/json': { schema: JobsBody } } } },
      responses: {
        202: { description: 'Queued', content: { 'application/json': { schema: JobsResponse } } },
        ...errorResponses(400, 401, 403, 413, 415, 429, 503),
      },
    }),
    async (c) => {
      if (opts.asyncJobs === false) throw noQueueError();
      const body = c.req.valid('json');
      const ids = [...new Set((body.cveIds ?? [body.cveId!]).map((s) => s.toUpperCase()))];
      const principal = c.get('principal');
      const jobs = [];
      for (const cveId of ids) {
        jobs.push(
          await service.jobs.enqueue({
            cveId,
            source: 'api',
            principal: principal.id,
            requestId: c.get('requestId'),
            ...(body.options?.maxAttempts ? { maxAttempts: body.options.maxAttempts } : {}),
            ...(body.options?.candidates ? { candidates: body.options.candidates } : {}),
            ...(body.options?.judge ? { judge: body.options.judge } : {}),
            ...(body.options?.llmBatch ? { llmBatch: body.options.llmBatch } : {}),
            ...(body.options?.force ? { force: true } : {}),
          }),
        );
      }
      return c.json({ jobs }, 202);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/jobs/{id}',
      tags: ['jobs'],
      summary: 'A job: status, attempts, result or error',
      security: SECURITY,
      middleware: [guard('rules:read')] as const,
      request: { params: JobParams },
      responses: {
        200: { description: 'The job', content: { 'application/json': { schema: JobResponse } } },
        ...errorResponses(400, 401, 403, 404, 429),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const job = await service.jobs.get(id);
      if (!job) throw new ApiError(404, 'not_found', `no job ${id}`);
      const { payload: _p, kind: _k, ...rest } = job;
      return c.json(rest, 200);
    },
  );

  // --- deployments (./deployments.ts) -------------------------------------------------------------
  registerDeploymentRoutes(app, service, guard);
  // --- the review console (./console) ------------------------------------------------------------
  registerConsole(app, { service, auth, rateLimit, failedAuth, trustProxy: config.trustProxy });

  // --- webhook -------------------------------------------------------------------------------------
  // Declared for the document only: the handler must read the raw body to check its signature
  // before parsing it, so it validates with the same schemas itself.
  app.openAPIRegistry.registerPath({
    method: 'post',
    path: '/webhook/vulnerability',
    tags: ['webhook'],
    summary: 'Scanner findings: critical and high are queued, others acknowledged',
    description:
      "Signed with HMAC-SHA256 over `<timestamp>.<raw body>`: headers `X-Wafgen-Timestamp` (Unix seconds, within WAFGEN_WEBHOOK_TOLERANCE_S) and `X-Wafgen-Signature: sha256=<hex>`. GitHub deliveries may instead carry GitHub's own `X-Hub-Signature-256`. A replay of a signed payload within its window is answered 200 with `duplicate: true` and queues nothing. Formats: generic findings, GitHub `dependabot_alert` and `security_advisory` events.",
    request: {
      headers: [],
      body: {
        required: true,
        content: {
          'application/json': {
            schema: GenericWebhook.or(GitHubDependabotAlert).or(GitHubSecurityAdvisory),
          },
        },
      },
    },
    responses: {
      202: { description: 'Findings queued', content: { 'application/json': { schema: WebhookResponse } } },
      200: {
        description: 'Acknowledged; nothing to queue',
        content: { 'application/json': { schema: WebhookResponse } },
      },
      ...errorResponses(400, 401, 413, 429, 503),
    },
  });

  app.post(WEBHOOK_PATH, async (c) => {
    const raw = await c.req.text();
    let check: ReturnType<typeof verifyWebhookSignature>;
    try {
      check = verifyWebhookSignature(
        raw,
        {
          timestamp: c.req.header('x-wafgen-timestamp'),
          signature: c.req.header('x-wafgen-signature'),
          githubSignature: c.req.header('x-hub-signature-256'),
          githubDelivery: c.req.header('x-github-delivery'),
        },
        config.webhook.secrets,
        config.webhook.toleranceS,
      );
    } catch (e) {
      // Unsigned or badly signed: counted against the caller's IP (429 once its budget is spent).
      return failedAuth(c, e);
    }
    await rateLimit(c, 'default', `webhook:${check.scheme}`);
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      throw new ApiError(400, 'malformed_json', 'the request body is not valid JSON');
    }
    const parsed = parseWebhook(body, c.req.header('x-github-event'));
    if (parsed.actionable.length > 0 && opts.asyncJobs === false) throw noQueueError();
    // Replays: the first delivery of a signed payload claims it (webhook-replay.ts).
    const claim = await claimDelivery(service.kv, check, { metrics, log });
    if (!claim) return c.json(duplicateDelivery(parsed.format, check), 200);
    try {
      const jobs = [];
      for (const f of parsed.actionable) {
        jobs.push(
          await service.jobs.enqueue({
            cveId: f.cveId,
            source: `webhook:${parsed.source}`,
            principal: `webhook:${check.scheme}`,
            requestId: c.get('requestId'),
          }),
        );
      }
      metrics.webhookFindings.inc({ format: parsed.format, outcome: 'queued' }, jobs.length);
      metrics.webhookFindings.inc({ format: parsed.format, outcome: 'skipped' }, parsed.skipped.length);
      const queued = jobs.length > 0;
      return c.json(
        {
          queued,
          ...(queued ? { jobId: jobs[0]!.jobId } : {}),
          format: parsed.format,
          jobs,
          skipped: parsed.skipped,
        },
        queued ? 202 : 200,
      );
    } catch (e) {
      await claim.release();
      throw e;
    }
  });

  // The cache-hit GET /v1/rules/:cveId and the repeated validate as the Node adapter serves them
  // before Hono (./hot-path).
  attachHotPath(
    app,
    createHotPath({
      auth,
      limiter: service.limiter,
      peek: (id) => service.rules.peekNear(id),
      hit: () => service.rules.recordNearHit(),
      body: (view) => ruleJson(view, 'hit'),
      validated: (principal, contentType, body) =>
        validatedAnswer(validationKey(principal, contentType, body), body),
      maxBodyBytes: config.maxBodyBytes,
      metrics,
      debug: { enabled: () => log.isLevelEnabled('debug'), write: (line) => log.debug(line, 'request') },
    }),
  );

  // --- the document ----------------------------------------------------------------------------------
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'wafgen API',
      version: service.engineVersion.split('@')[1] ?? '0',
      description:
        'Generate, validate and test AWS WAFv2 rules that virtually patch CVEs. Errors are `{ error: { code, message, fields? } }`.',
    },
    tags: [
      { name: 'rules', description: 'Generated rules, validation and testing' },
      { name: 'jobs', description: 'Asynchronous generation' },
      {
        name: 'deployments',
        description: 'Deployments into AWS WAF: plan, apply in Count, promote, roll back',
      },
      { name: 'webhook', description: 'Scanner findings' },
      { name: 'operations', description: 'Health and readiness' },
    ],
  });
  // The reference page, its assets bundled and served from here (./docs.ts).
  registerDocs(app);

  return app;
}
