// Vercel function entry point: a standard fetch handler (Request in, Response out), exported as the
// default `{ fetch }` and per HTTP method. Re-export it from `api/[[...route]].ts` in a Vercel
// project, with a rewrite of every path to it. Configure like Lambda (DATABASE_URL; WAFGEN_QUEUE=sqs
// or REDIS_URL for jobs, else they are refused with 503; WAFGEN_SECRETS_ARN read once per cold start).
import { refreshSecretsInEnv } from '../../app/index.js';
import { createRuntime, lazyRuntime, type Runtime } from '../runtime.js';

export function createFetchHandler(runtime: () => Promise<Runtime>): (request: Request) => Promise<Response> {
  return async (request) => (await runtime()).app.fetch(request);
}

const fetchHandler = createFetchHandler(
  lazyRuntime(
    () => createRuntime(process.env, { inProcessWorker: false }),
    () => refreshSecretsInEnv(process.env),
  ),
);

export const GET = fetchHandler;
export const POST = fetchHandler;
export const PUT = fetchHandler;
export const PATCH = fetchHandler;
export const DELETE = fetchHandler;
export const HEAD = fetchHandler;
export const OPTIONS = fetchHandler;
export default { fetch: fetchHandler };
