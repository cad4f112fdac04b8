/**
 * @module The application layer's public face: the composition root and the use cases. Entry
 * points (cli/, api/, worker/) import from here only.
 */
export {
  buildService,
  openGenerationParts,
  openService,
  type CheckResult,
  type GenerationParts,
  type GenerationPartsOptions,
  type Health,
  type OpenServiceOptions,
  type RunningService,
  type Service,
  type ServiceDeps,
} from './root.js';
export { loadEnvironment } from './environment.js';
export {
  assertAuthConfigured,
  loadServiceConfig,
  SCOPES,
  type ApiKeyEntry,
  type JwtSettings,
  type Scope,
  type ServiceConfig,
  type ServiceSettings,
} from './service-config.js';
export {
  GenerationFailedError,
  RuleService,
  viewOfStored,
  type GenerateOptions,
  type GenerateOutcome,
  type RuleView,
} from './rules.js';
export {
  JobService,
  jobHooks,
  QueueUnavailableError,
  startWorker,
  type EnqueueRequest,
  type EnqueueResult,
  type JobResult,
  type JobView,
  type WorkerOptions,
} from './jobs.js';
export type { CloseResult, JobConsumer } from '../queue/index.js';
export { findRecord, generateRule, parseCveId, type GenerateDeps, type GenerateRequest } from './generate.js';
export { readBatchInput, runBatch, type BatchItemResult, type BatchOptions } from './batch.js';
export { importPaths, type ImportSummary } from './import.js';
export { chooseEngine } from './engines.js';
export {
  CveNotFoundError,
  liveSources,
  lookupCve,
  notInStoreMessage,
  type LiveSource,
  type LookupOptions,
  type LookupResult,
  type SourceOutcome,
} from './lookup.js';
export { BUNDLED_SOURCE, openSeededStore } from './store.js';
