/**
 * @module The package entry: `import { generateRule, testRules, validateRules } from 'wafgen'`.
 * Only the programmatic API (app/library.ts) is public; every other module is internal.
 */
export {
  generateRule,
  testRules,
  validateRules,
  WafgenInputError,
  type Finding,
  type GenerateRuleOptions,
  type GenerateRuleResult,
  type GenerationReport,
  type HttpRequestInput,
  type InputIssue,
  type RequestsInput,
  type Rule,
  type TestRequestResult,
  type TestRulesOptions,
  type TestRulesResult,
  type TestSummary,
  type ValidateRulesOptions,
  type ValidationResult,
  type VulnRecordInput,
  type WafgenInputErrorCode,
} from './app/library.js';
