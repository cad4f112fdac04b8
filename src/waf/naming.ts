// Names wafgen gives to what it generates. Rule names and metric names carry the CVE ID, so a blocked
// request in a log or a dashboard leads straight back to the vulnerability.
const RULE_PREFIX = 'wafgen';

export function ruleName(cveId: string): string {
  return `${RULE_PREFIX}-${cveId.toUpperCase()}`;
}

/** Metric names: letters, digits, `-` and `_` only, at most 128 characters (the strict form AWS documents). */
export function metricName(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 128);
}
