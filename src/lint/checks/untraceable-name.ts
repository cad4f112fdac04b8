// Rule names and metric names are how an on-call engineer finds the CVE behind a blocked request
// in logs and dashboards; both should carry the CVE ID.
import type { LintCheck } from '../types.js';

const CVE = /CVE[-_]\d{4}[-_]\d{4,}/i;
const norm = (s: string): string => s.toUpperCase().replace(/_/g, '-');

export const untraceableName: LintCheck = {
  code: 'untraceable-name',
  severity: 'warning',
  summary:
    'The rule Name or MetricName does not contain the CVE ID it patches (or the two name different CVEs), so logs and metrics cannot be traced back to it.',
  fix: 'Name both after the CVE, e.g. Name "wafgen-CVE-2021-44228" and the same MetricName.',
  rule({ rule, path, options }, report) {
    const name = norm(rule.Name);
    const metric = norm(rule.VisibilityConfig.MetricName);
    const expected = options.cveId ? norm(options.cveId) : name.match(CVE)?.[0];
    if (!expected) return;
    if (!name.includes(expected))
      report([...path, 'Name'], `Name "${rule.Name}" does not contain ${expected}`);
    if (!metric.includes(expected)) {
      report(
        [...path, 'VisibilityConfig', 'MetricName'],
        `MetricName "${rule.VisibilityConfig.MetricName}" does not contain ${expected}`,
      );
    }
  },
};
