// The LLM layer's public face: configuration, models, failover client, budgets and prices.
export { LlmConfigError, Secret, loadLlmConfig, type LlmConfig } from './config.js';
export { Budget, BudgetExceeded, estimateTokens, type BudgetLimits } from './budget.js';
export { AllProvidersFailed } from './errors.js';
export {
  createLlmClient,
  type AttemptRecord,
  type BreakerState,
  type GenerateObjectRequest,
  type GenerateObjectResult,
  type LlmClientDeps,
} from './failover.js';
export { BUILTIN_PRICES, costOf, priceFor } from './prices.js';
export { type ProviderName } from './providers.js';
export { createModelRegistry } from './registry.js';
