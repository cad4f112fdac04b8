// @ts-check
// The one-way house: which top-level folder of src/ may import which. Read from the bottom up; a
// folder may import the folders listed for it (and itself), nothing else. eslint enforces it
// (eslint.config.js), and the README's architecture section shows the same table.
/** @type {Record<string, readonly string[]>} */
export const LAYERS = {
  // the ground: shared by every layer, imports nothing of ours
  core: [],
  config: ['core'],
  // the WAFv2 language: model, schema, API constraints, capacity, export
  waf: ['core'],
  // HTTP requests and every request file format
  requests: ['core'],
  // pure evaluation of rules against requests
  evaluator: ['core', 'waf', 'requests'],
  variants: ['core', 'requests', 'evaluator'],
  // static checks of a rule document (schema, constraints, capacity, lint)
  lint: ['core', 'waf', 'requests', 'evaluator'],
  // vulnerability records, their evidence model, importers and live sources
  vulns: ['core', 'config', 'requests'],
  evidence: ['core', 'config', 'requests', 'vulns'],
  // parts the stages and the service stand on
  llm: ['core', 'config'],
  kv: ['core', 'config'],
  queue: ['core', 'config'],
  secrets: ['core', 'config'],
  store: ['core', 'config', 'vulns'],
  // CVE record + evidence -> a checked rule
  generation: [
    'core',
    'config',
    'waf',
    'requests',
    'evaluator',
    'variants',
    'lint',
    'vulns',
    'evidence',
    'llm',
  ],
  observability: ['core', 'config', 'generation', 'store'],
  audit: ['core', 'config', 'observability'],
  deploy: ['core', 'config', 'waf', 'store'],
  // the composition root and the use cases
  app: [
    'core',
    'config',
    'waf',
    'requests',
    'evaluator',
    'variants',
    'lint',
    'vulns',
    'evidence',
    'llm',
    'kv',
    'queue',
    'secrets',
    'store',
    'generation',
    'observability',
    'audit',
    'deploy',
  ],
  // entry points
  worker: ['core', 'config', 'app', 'queue', 'observability'],
  api: [
    'core',
    'config',
    'app',
    'worker',
    'waf',
    'requests',
    'evaluator',
    'variants',
    'lint',
    'observability',
  ],
  cli: [
    'core',
    'config',
    'app',
    'worker',
    'api',
    'waf',
    'requests',
    'evaluator',
    'variants',
    'lint',
    'vulns',
    'store',
    'generation',
    'observability',
    'audit',
    'secrets',
    'deploy',
  ],
};
