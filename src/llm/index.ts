// The LLM layer's public face: configuration, models, failover client, budgets and prices.
export {
  LlmConfigError,
  LlmEnvSchema,
  Secret,
  loadLlmConfig,
  type BedrockCredentials,
  type LlmConfig,
  type LlmEnv,
  type ProviderSettings,
} from './config.js';
export {
  Budget,
  BudgetExceeded,
  estimateTokens,
  type BudgetLimit,
  type BudgetLimits,
  type BudgetSpent,
  type TokenUsage,
} from './budget.js';
export { AllProvidersFailed, classify, redact, type Attempt, type FailureKind } from './errors.js';
export {
  DEFAULT_MAX_OUTPUT_TOKENS,
  createLlmClient,
  type AttemptRecord,
  type BreakerState,
  type GenerateObjectRequest,
  type GenerateObjectResult,
  type LlmClient,
  type LlmClientDeps,
} from './failover.js';
export { BUILTIN_PRICES, costOf, priceFor, type ModelPrice, type PriceTable } from './prices.js';
export {
  DEFAULT_MODELS,
  MODEL_ROLES,
  PROVIDER_NAMES,
  type ModelRole,
  type ProviderName,
} from './providers.js';
export {
  createModelRegistry,
  type AwsCredentials,
  type Model,
  type ModelRegistry,
  type RegistryDeps,
} from './registry.js';
