// AWS Lambda entry point: API Gateway REST (v1) and HTTP API (v2) events, and ALB, through Hono's
// adapter. The runtime is built on the first invocation and reused while the container lives; keys
// in Secrets Manager (WAFGEN_SECRETS_ARN) are read then, once per cold start (src/secrets), and
// again once their TTL has passed: rotated values get a new runtime.
// Configure with the same environment variables as `wafgen serve`; use DATABASE_URL (the embedded
// store needs a writable, lasting data directory, which Lambda does not have). Jobs (POST /v1/jobs,
// the webhook) go to SQS with WAFGEN_QUEUE=sqs (run by the worker Lambda, src/worker/lambda.ts) or
// to BullMQ with REDIS_URL (`wafgen worker` processes); with neither they are refused with 503, as
// Lambda freezes between invocations and nothing would run them.
import { handle, type LambdaContext, type LambdaEvent } from 'hono/aws-lambda';

import { refreshSecretsInEnv } from '../../app/index.js';
import { defaultMetrics } from '../../observability/index.js';
import { withEmbeddedMetrics } from '../../worker/emf.js';
import { createRuntime, lazyRuntime, type Runtime } from '../runtime.js';

export function createLambdaHandler(runtime: () => Promise<Runtime>) {
  return async (event: LambdaEvent, context?: LambdaContext) => {
    const rt = await runtime();
    return handle(rt.app)(event, context);
  };
}

export const handler = createLambdaHandler(
  // No port to scrape in Lambda: one EMF log line per generation becomes CloudWatch metrics.
  lazyRuntime(
    () =>
      createRuntime(process.env, { inProcessWorker: false, metrics: withEmbeddedMetrics(defaultMetrics()) }),
    // Past the secret's TTL (WAFGEN_SECRETS_TTL_SECONDS) a warm container reads it again.
    () => refreshSecretsInEnv(process.env),
  ),
);
