/** @module The request file formats wafgen reads (a constant the CLI's help needs without the parsers). */
export const REQUEST_FORMATS = ['jsonl', 'json', 'har', 'nuclei', 'waf-log', 'raw'] as const;
export type RequestFormat = (typeof REQUEST_FORMATS)[number];
