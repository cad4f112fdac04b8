/**
 * @module The API's public face: the app, the runtime every entry point builds, and the Node
 * server. The AWS Lambda and Vercel entry points are src/api/adapters/lambda.ts and vercel.ts.
 */
export { startServer } from './adapters/node.js';
export { createRuntime } from './runtime.js';
