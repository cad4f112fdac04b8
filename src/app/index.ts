/**
 * @module The application layer's public face: the composition root and the use cases. Entry
 * points (cli/, api/, worker/) import from here only.
 */
export {
  buildService,
  openGenerationParts,
  openService,
  type OpenServiceOptions,
  type RunningService,
  type Service,
} from './root.js';
export { loadEnvironment } from './environment.js';
export { generationDefaults } from './engines.js';
export { refreshSecretsInEnv } from '../secrets/index.js';
export {
  assertAuthConfigured,
  loadServiceConfig,
  SCOPES,
  type Scope,
  type ServiceConfig,
} from './service-config.js';
export { GenerationFailedError, type RuleView } from './rules.js';
export { jobHooks, QueueUnavailableError, startWorker } from './jobs.js';
export { DeploymentNotFoundError, type Deployment, type DeploymentView } from './deployments.js';
export { DeployError } from '../deploy/errors.js';
export { readDocsAsset } from './docs-assets.js';
export { runScheduledBackup, type ScheduledBackupResult } from './backup.js';
export type { JobConsumer } from '../queue/index.js';
export { findRecord, generateRule } from './generate.js';
export { NoRuleError } from '../generation/no-rule.js';
export type { BatchItemResult } from './batch.js';
export { CveNotFoundError, liveSources, lookupCve, type LookupOptions } from './lookup.js';
