// Severity levels, apart from the record schemas so that the CLI can offer them as choices without
// loading Zod (\`wafgen --help\`).
export const SEVERITIES = ['critical', 'high', 'medium', 'low', 'none', 'unknown'] as const;
export type Severity = (typeof SEVERITIES)[number];
