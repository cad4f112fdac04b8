// Deployment of generated rules to AWS WAF (issue 7): into a web ACL or rule group, staged (Count,
// then Block), with rollback and dry-run diffs. See deploy.ts for the cycle and plan.ts for priorities.
export { deployRule, promoteRule, rollbackRule, type DeployOptions, type DeployResult } from './deploy.js';
export { parseWafArn, resolveTarget, type DeployTarget, type Scope } from './client.js';
export { DeployError } from './errors.js';
export { countSampledMatches, type SampleCount } from './soak.js';
export { auditHistory, memoryHistory } from './history.js';
export { actionName, diffRules, nextFreePriority, placeRule } from './plan.js';
export { fromSdkRule, toSdkRule } from './convert.js';
export { formatDeployResult, summarizeDeployResult } from './format.js';
