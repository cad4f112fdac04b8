// What the evaluator needs to know beyond the rule and the request.
import type { RuleGroup } from '../waf/model/shapes.generated.js';

/** Resource types and their default body inspection limits (bytes), per AWS. */
export const BODY_LIMITS = {
  ALB: 8 * 1024,
  APPSYNC: 8 * 1024,
  CLOUDFRONT: 16 * 1024,
  API_GATEWAY: 16 * 1024,
  COGNITO_USER_POOL: 16 * 1024,
  APP_RUNNER_SERVICE: 16 * 1024,
  VERIFIED_ACCESS_INSTANCE: 16 * 1024,
} as const;

export type ResourceType = keyof typeof BODY_LIMITS;

/** Headers and cookies: the first 8 KB or 200 entries, whichever comes first. */
export const HEADER_LIMIT_BYTES = 8 * 1024;
export const HEADER_LIMIT_COUNT = 200;

export interface EvaluateOptions {
  /** Protected resource type; sets the body inspection limit (default ALB: 8 KB, the strictest). */
  resource?: ResourceType;
  /** Overrides the body inspection limit in bytes (e.g. 65536 with a raised web ACL limit). */
  bodyLimit?: number;
  /** Contents of IP sets by ARN (CIDR strings). */
  ipSets?: Readonly<Record<string, readonly string[]>>;
  /** Contents of regex pattern sets by ARN. */
  regexPatternSets?: Readonly<Record<string, readonly string[]>>;
  /** Your own rule groups by ARN, for RuleGroupReferenceStatement. */
  ruleGroups?: Readonly<Record<string, RuleGroup>>;
  /** Keep a trace of every statement evaluated (default true). */
  trace?: boolean;
}

export function bodyLimitOf(options: EvaluateOptions): number {
  return options.bodyLimit ?? BODY_LIMITS[options.resource ?? 'ALB'];
}
