// Reading the Prometheus text exposition back in tests, and the series ops/ (alert rules and
// dashboards) refers to.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { REPO_ROOT } from '../support/shared.js';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export function parseExposition(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`unparsable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/** The value of the one sample with this name whose labels include `labels`. */
export function value(
  samples: Sample[],
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const hits = samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  if (hits.length > 1) throw new Error(`${hits.length} samples match ${name} ${JSON.stringify(labels)}`);
  return hits[0]?.value;
}

/** Every wafgen_* series name ops/ refers to (alert rules and dashboards), without _bucket/_sum/_count. */
export function opsSeries(): string[] {
  const dir = join(REPO_ROOT, 'ops');
  const files = [
    join(dir, 'prometheus', 'alerts.yml'),
    ...readdirSync(join(dir, 'grafana')).map((f) => join(dir, 'grafana', f)),
  ];
  const names = new Set<string>();
  for (const f of files)
    for (const m of readFileSync(f, 'utf8').matchAll(/\bwafgen_[a-z_]+/g))
      names.add(m[0].replace(/_(bucket|sum|count)$/, ''));
  return [...names].sort();
}
