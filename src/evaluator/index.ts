export { compileDocument, isCaught, type Decision } from './evaluate.js';
export { RuleCompileError } from './compile.js';
export { type EvaluateOptions } from './options.js';
