// One shape for everything wafgen says about a rule document: schema errors, API constraints the
// model does not carry, and lint. Every finding has a stable code (documented in docs/lint.md).

export type Severity = 'error' | 'warning';
export type JsonPath = readonly (string | number)[];

export interface Finding {
  code: string;
  severity: Severity;
  /** JSONPath-like location, e.g. `$.Rules[0].Statement.AndStatement.Statements[1]`. */
  path: string;
  message: string;
  /** One line telling how to fix it. */
  fix?: string;
}

export function formatPath(path: JsonPath): string {
  let out = '$';
  for (const part of path) {
    out +=
      typeof part === 'number'
        ? `[${part}]`
        : /^[A-Za-z_$][\w$]*$/.test(part)
          ? `.${part}`
          : `[${JSON.stringify(part)}]`;
  }
  return out;
}

export function hasErrors(findings: readonly Finding[]): boolean {
  return findings.some((f) => f.severity === 'error');
}
