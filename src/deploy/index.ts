// Deployment of generated rules to AWS WAF (issue 7): into a web ACL or rule group, staged (Count,
// then Block), with rollback and dry-run diffs. See deploy.ts for the cycle and plan.ts for priorities.
export {
  deployRule,
  promoteRule,
  rollbackRule,
  type CapacityReport,
  type DeployOptions,
  type DeployResult,
  type DeployRuleInput,
  type PromoteInput,
  type RetryOptions,
  type RollbackInput,
  type StoredVersion,
} from './deploy.js';
export {
  CLOUDFRONT_REGION,
  parseWafArn,
  resolveTarget,
  type ClientOptions,
  type DeployTarget,
  type Scope,
  type TargetKind,
  type WafArn,
} from './client.js';
export { DeployError, describeAwsError, type DeployErrorCode } from './errors.js';
export {
  auditHistory,
  memoryHistory,
  DEPLOY_EVENT,
  type DeploymentEvent,
  type DeploymentHistory,
  type DeploymentRecord,
  type DeployOperation,
} from './history.js';
export { actionName, diffRules, nextFreePriority, placeRule, type RuleChange } from './plan.js';
export { fromSdkRule, toSdkRule } from './convert.js';
export { formatDeployResult, summarizeDeployResult } from './format.js';
export { MAX_SOAK_MINUTES, type SoakReport } from './soak.js';
