/**
 * @module The API's public face: the app, the runtime every entry point builds, and the Node
 * server. The AWS Lambda and Vercel entry points are src/api/adapters/lambda.ts and vercel.ts.
 */
export { createApp, type ApiApp, type AppOptions } from './app.js';
export { apiKeyEntry, Authenticator, type Principal } from './auth.js';
export { ERROR_CODES, type ErrorBody, type ErrorCode } from './errors.js';
export { ApiMetrics } from './metrics.js';
export { startServer, type RunningServer } from './adapters/node.js';
export { createRuntime, lazyRuntime, type Runtime, type RuntimeOptions } from './runtime.js';
export { signGitHub, signWebhook } from './webhook.js';
