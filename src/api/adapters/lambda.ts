// AWS Lambda entry point: API Gateway REST (v1) and HTTP API (v2) events, and ALB, through Hono's
// adapter. The runtime is built on the first invocation and reused while the container lives.
// Configure with the same environment variables as `wafgen serve`; use DATABASE_URL (the embedded
// store needs a writable, lasting data directory, which Lambda does not have) and REDIS_URL (jobs go
// to `wafgen worker` processes; Lambda freezes between invocations).
import { handle, type LambdaContext, type LambdaEvent } from 'hono/aws-lambda';

import { createRuntime, lazyRuntime, type Runtime } from '../runtime.js';

export function createLambdaHandler(runtime: () => Promise<Runtime>) {
  return async (event: LambdaEvent, context?: LambdaContext) => {
    const rt = await runtime();
    return handle(rt.app)(event, context);
  };
}

export const handler = createLambdaHandler(
  lazyRuntime(() => createRuntime(process.env, { inProcessWorker: false })),
);
