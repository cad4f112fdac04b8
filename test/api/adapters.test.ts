// The serverless entry points: the AWS Lambda handler with realistic API Gateway REST (v1) and HTTP
// API (v2) events, and the Vercel fetch handler; the exported handlers themselves are built from
// the environment against a PostgreSQL test database.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';

import { createLambdaHandler } from '../../src/api/adapters/lambda.js';
import { createRuntime, type Runtime } from '../../src/api/runtime.js';
import { createFetchHandler } from '../../src/api/adapters/vercel.js';
import { createMetrics } from '../../src/observability/index.js';
import type { Store } from '../../src/store/index.js';
import {
  baseEnv,
  createTestDatabase,
  openTestStore,
  postgresAdminUrl,
  token,
  type TestDatabase,
} from '../service/support.js';

let store: Store;
let runtime: Runtime;
let auth: string;

beforeAll(async () => {
  ({ store } = await openTestStore());
  runtime = await createRuntime(baseEnv(), {
    store,
    logger: pino({ level: 'silent' }),
    metrics: createMetrics(),
    inProcessWorker: false,
  });
  auth = await token();
}, 60_000);

afterAll(async () => {
  await runtime?.close();
  await store?.close();
});

const lambdaContext = {
  callbackWaitsForEmptyEventLoop: true,
  functionName: 'wafgen-api',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:wafgen-api',
  memoryLimitInMB: '1024',
  awsRequestId: '3f1c2a7e-8d1b-4f0e-9d63-5c2d1b0e9a11',
  logGroupName: '/aws/lambda/wafgen-api',
  logStreamName: '2026/11/25/[$LATEST]0123456789abcdef',
  getRemainingTimeInMillis: () => 29_000,
};

function restApiEvent(method: string, path: string, body: string | null, headers: Record<string, string>) {
  return {
    resource: '/{proxy+}',
    path,
    httpMethod: method,
    headers: { Host: 'abc123.execute-api.eu-west-1.amazonaws.com', 'User-Agent': 'curl/8.5.0', ...headers },
    multiValueHeaders: Object.fromEntries(
      Object.entries({
        Host: 'abc123.execute-api.eu-west-1.amazonaws.com',
        'User-Agent': 'curl/8.5.0',
        ...headers,
      }).map(([k, v]) => [k, [v]]),
    ),
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: { proxy: path.slice(1) },
    stageVariables: null,
    requestContext: {
      resourceId: 'x1y2z3',
      resourcePath: '/{proxy+}',
      httpMethod: method,
      extendedRequestId: 'Uk7F2Gp3DoEFh5w=',
      requestTime: '25/Nov/2026:04:50:00 +0000',
      path: `/prod${path}`,
      accountId: '123456789012',
      protocol: 'HTTP/1.1',
      stage: 'prod',
      domainPrefix: 'abc123',
      requestTimeEpoch: 1795582200000,
      requestId: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef',
      identity: {
        cognitoIdentityPoolId: null,
        accountId: null,
        cognitoIdentityId: null,
        caller: null,
        sourceIp: '203.0.113.10',
        principalOrgId: null,
        accessKey: null,
        cognitoAuthenticationType: null,
        cognitoAuthenticationProvider: null,
        userArn: null,
        userAgent: 'curl/8.5.0',
        user: null,
      },
      domainName: 'abc123.execute-api.eu-west-1.amazonaws.com',
      apiId: 'abc123',
    },
    body,
    isBase64Encoded: false,
  };
}

function httpApiEvent(
  method: string,
  rawPath: string,
  rawQueryString: string,
  headers: Record<string, string>,
  body?: string,
) {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath,
    rawQueryString,
    cookies: [],
    headers: {
      host: 'def456.execute-api.eu-west-1.amazonaws.com',
      'user-agent': 'curl/8.5.0',
      'x-forwarded-for': '203.0.113.10',
      'x-forwarded-proto': 'https',
      ...headers,
    },
    queryStringParameters: rawQueryString
      ? Object.fromEntries(new URLSearchParams(rawQueryString))
      : undefined,
    requestContext: {
      accountId: '123456789012',
      apiId: 'def456',
      domainName: 'def456.execute-api.eu-west-1.amazonaws.com',
      domainPrefix: 'def456',
      http: {
        method,
        path: rawPath,
        protocol: 'HTTP/1.1',
        sourceIp: '203.0.113.10',
        userAgent: 'curl/8.5.0',
      },
      requestId: 'JKJaXmPLvHcESHA=',
      routeKey: '$default',
      stage: '$default',
      time: '25/Nov/2026:04:50:00 +0000',
      timeEpoch: 1795582200000,
    },
    ...(body !== undefined ? { body, isBase64Encoded: false } : { isBase64Encoded: false }),
  };
}

describe('AWS Lambda', () => {
  const handler = createLambdaHandler(async () => runtime);

  it('serves an API Gateway REST (v1) proxy event', async () => {
    const res = await handler(
      restApiEvent('POST', '/v1/rules/generate', JSON.stringify({ cveId: 'CVE-2021-44228' }), {
        Authorization: `Bearer ${auth}`,
        'Content-Type': 'application/json',
      }) as never,
      lambdaContext as never,
    );
    expect(res.statusCode).toBe(200);
    const body = JSON.parse(res.body) as { cveId: string; passed: boolean };
    expect(body).toMatchObject({ cveId: 'CVE-2021-44228', passed: true });
    // REST API responses carry multi-value headers.
    const mv = (res as { multiValueHeaders?: Record<string, string[]> }).multiValueHeaders;
    expect(String(res.headers?.['content-type'] ?? mv?.['content-type'])).toContain('application/json');
  });

  it('serves an API Gateway HTTP API (v2) event, with query string', async () => {
    const res = await handler(
      httpApiEvent('GET', '/v1/rules/CVE-2021-44228', 'version=1', {
        authorization: `Bearer ${auth}`,
      }) as never,
      lambdaContext as never,
    );
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ cveId: 'CVE-2021-44228', version: 1 });
  });

  it('answers errors in the API shape', async () => {
    const res = await handler(
      httpApiEvent('GET', '/v1/rules/CVE-2021-44228', '', {}) as never,
      lambdaContext as never,
    );
    expect(res.statusCode).toBe(401);
    expect(JSON.parse(res.body).error.code).toBe('unauthorized');
  });
});

describe('Vercel', () => {
  it('serves a standard fetch Request', async () => {
    const handler = createFetchHandler(async () => runtime);
    const res = await handler(
      new Request('https://wafgen.vercel.app/v1/rules/validate', {
        method: 'POST',
        headers: { authorization: `Bearer ${auth}`, 'content-type': 'application/json' },
        body: JSON.stringify({ document: { Name: 'x' } }),
      }),
    );
    expect(res.status).toBe(200);
    expect(((await res.json()) as { valid: boolean }).valid).toBe(false);
  });

  it('limits body size there too', async () => {
    const handler = createFetchHandler(async () => runtime);
    const res = await handler(
      new Request('https://wafgen.vercel.app/v1/rules/validate', {
        method: 'POST',
        headers: { authorization: `Bearer ${auth}`, 'content-type': 'application/json' },
        body: JSON.stringify({ document: { Name: 'x'.repeat(2 * 1024 * 1024) } }),
      }),
    );
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('payload_too_large');
  });
});

const adminUrl = await postgresAdminUrl();

describe.skipIf(!adminUrl)('the exported handlers, built from the environment', () => {
  let db: TestDatabase;
  const saved = { ...process.env };

  beforeAll(async () => {
    db = await createTestDatabase(adminUrl!);
    Object.assign(process.env, baseEnv({ DATABASE_URL: db.url, REDIS_URL: undefined }));
  });

  afterAll(async () => {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
    await db?.drop();
  });

  it('Lambda `handler` and Vercel default export answer', async () => {
    const { handler } = await import('../../src/api/adapters/lambda.js');
    const vercel = (await import('../../src/api/adapters/vercel.js')).default;
    const res = await handler(httpApiEvent('GET', '/readyz', '', {}) as never, lambdaContext as never);
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ status: 'ok', checks: { store: { backend: 'postgres' } } });
    const v = await vercel.fetch(new Request('https://wafgen.vercel.app/healthz'));
    expect(await v.json()).toEqual({ status: 'ok' });
  });
});
