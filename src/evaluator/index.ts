export {
  compileDocument,
  isCaught,
  type ActionName,
  type CompiledDocument,
  type Decision,
  type RuleOutcome,
} from './evaluate.js';
export { MAX_DEPTH, MAX_STATEMENTS, RuleCompileError } from './compile.js';
export { BODY_LIMITS, type EvaluateOptions, type ResourceType } from './options.js';
export type { StatementTrace, Verdict } from './trace.js';
