// Vercel function entry point: a standard fetch handler (Request in, Response out), exported as the
// default `{ fetch }` and per HTTP method. Re-export it from `api/[[...route]].ts` in a Vercel
// project, with a rewrite of every path to it. Configure like Lambda (DATABASE_URL, REDIS_URL).
import { createRuntime, lazyRuntime, type Runtime } from '../runtime.js';

export function createFetchHandler(runtime: () => Promise<Runtime>): (request: Request) => Promise<Response> {
  return async (request) => (await runtime()).app.fetch(request);
}

const fetchHandler = createFetchHandler(
  lazyRuntime(() => createRuntime(process.env, { inProcessWorker: false })),
);

export const GET = fetchHandler;
export const POST = fetchHandler;
export const PUT = fetchHandler;
export const PATCH = fetchHandler;
export const DELETE = fetchHandler;
export const HEAD = fetchHandler;
export const OPTIONS = fetchHandler;
export default { fetch: fetchHandler };
