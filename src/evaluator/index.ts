export { compileDocument, isCaught, type Decision } from './evaluate.js';
export { RuleCompileError } from './compile.js';
export { requestSet } from './request-set.js';
export { type EvaluateOptions } from './options.js';
