/**
 * @module One API instance as every entry point builds it (Node server, AWS Lambda, Vercel): the
 * service from the composition root (which also runs an in-process worker when there is no Redis),
 * and the app on top of it.
 */
import { openService, type OpenServiceOptions, type RunningService } from '../app/index.js';
import { backendUnavailable } from '../app/backends.js';
import { BackendUnavailableError } from '../core/backend-error.js';
import { createApp, type ApiApp } from './app.js';
import type { BackendClassifier } from './errors.js';

/** The running service (from the composition root) with the app that serves it. */
export interface Runtime extends RunningService {
  app: ApiApp;
}

export type RuntimeOptions = Omit<OpenServiceOptions, 'component' | 'requireAuth'>;

export async function createRuntime(
  env: NodeJS.ProcessEnv = process.env,
  opts: RuntimeOptions = {},
): Promise<Runtime> {
  const running = await openService(env, { ...opts, component: 'api' });
  const { DATABASE_URL, REDIS_URL } = running.config;
  // The error itself or one in its cause chain (a failed generation wraps what stopped it).
  const backends: BackendClassifier = (err) => {
    for (let e = err, i = 0; e && i < 8; e = (e as { cause?: unknown }).cause, i++) {
      const down = backendUnavailable(e, { DATABASE_URL, REDIS_URL });
      if (!down) continue;
      const cache = down instanceof BackendUnavailableError && down.backend === 'Redis';
      return { backend: cache ? 'cache' : 'store', detail: down.message };
    }
    return undefined;
  };
  const app = createApp(running.service, running.serviceConfig, {
    logger: running.log,
    backends,
    // An in-process queue runs jobs only with this process's worker (not in a serverless handler).
    asyncJobs: running.service.queue.kind !== 'memory' || running.consumer !== undefined,
  });
  return { ...running, app };
}

/**
 * Builds the runtime on first use and keeps it (serverless handlers); a failed build is retried next
 * time. With `refresh` (rotated secrets: app's refreshSecretsInEnv), a call that finds it true
 * builds a new runtime on the new values; the old one closes once the requests it may still be
 * serving have had the longest a generation may take.
 */
export function lazyRuntime(
  build: () => Promise<Runtime>,
  refresh?: () => Promise<boolean>,
): () => Promise<Runtime> {
  let pending: Promise<Runtime> | undefined;
  return async () => {
    const current = pending && refresh ? await pending.catch(() => undefined) : undefined;
    if (current && pending && (await refresh!())) {
      pending = undefined;
      const graceMs = current.serviceConfig.settings.generateTimeoutMs + 5000;
      setTimeout(() => void current.close().catch(() => {}), graceMs).unref();
    }
    pending ??= build().catch((e: unknown) => {
      pending = undefined;
      throw e;
    });
    return pending;
  };
}
