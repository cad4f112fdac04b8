/**
 * @module One API instance as every entry point builds it (Node server, AWS Lambda, Vercel): the
 * service from the composition root (which also runs an in-process worker when there is no Redis),
 * and the app on top of it.
 */
import type { Logger } from 'pino';

import {
  openService,
  type JobConsumer,
  type OpenServiceOptions,
  type Service,
  type ServiceConfig,
} from '../app/index.js';
import type { Config } from '../config/index.js';
import { createApp, type ApiApp } from './app.js';

export interface Runtime {
  app: ApiApp;
  service: Service;
  config: Config;
  serviceConfig: ServiceConfig;
  /** The in-process worker, when there is no Redis. */
  consumer?: JobConsumer;
  log: Logger;
  close(): Promise<void>;
}

export type RuntimeOptions = Omit<OpenServiceOptions, 'component' | 'requireAuth'>;

export async function createRuntime(
  env: NodeJS.ProcessEnv = process.env,
  opts: RuntimeOptions = {},
): Promise<Runtime> {
  const running = await openService(env, { ...opts, component: 'api' });
  const app = createApp(running.service, running.serviceConfig, { logger: running.log });
  return { ...running, app };
}

/** Builds the runtime on first use and keeps it (serverless handlers); a failed build is retried next time. */
export function lazyRuntime(build: () => Promise<Runtime>): () => Promise<Runtime> {
  let pending: Promise<Runtime> | undefined;
  return () => {
    pending ??= build().catch((e: unknown) => {
      pending = undefined;
      throw e;
    });
    return pending;
  };
}
