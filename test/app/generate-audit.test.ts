// generateRule's one observation and one audit event per generation, when the audit log fails.
import { describe, expect, it } from 'vitest';

import { generateRule } from '../../src/app/index.js';
import { MemoryAuditLog, type AuditEvent } from '../../src/audit/index.js';
import { BuiltinEngine } from '../../src/generation/builtin/index.js';
import type { Engine } from '../../src/generation/types.js';
import { loadBundled } from '../../src/vulns/bundled.js';

// The bundled record passed in: no store to look it up in.
const record = loadBundled().find((r) => r.id === 'CVE-2021-44228')!;

/** An audit log whose disk has failed: every emit rejects, after being recorded as tried. */
class FailingAuditLog extends MemoryAuditLog {
  tried: AuditEvent[] = [];
  override async emit(event: AuditEvent): Promise<void> {
    this.tried.push(event);
    throw new Error('audit spool: disk full');
  }
}

type Observation = Parameters<NonNullable<Parameters<typeof generateRule>[1]['observe']>>[0];

describe('generateRule and a failing audit log', () => {
  it('a rule made: one observation (the success), one event tried, the audit error thrown', async () => {
    const audit = new FailingAuditLog();
    const seen: Observation[] = [];
    await expect(
      generateRule(
        { cveId: 'CVE-2021-44228', record, maxInputBytes: 1 << 20, save: false },
        {
          engine: new BuiltinEngine(),
          lookup: { offline: true },
          audit,
          observe: (o) => seen.push(o),
        },
      ),
    ).rejects.toThrow('audit spool: disk full');
    expect(seen).toHaveLength(1);
    expect(seen[0]).not.toHaveProperty('error');
    expect(seen[0]).toHaveProperty('report');
    // The success's event, and no failure event after it for the same generation.
    expect(audit.tried.map((e) => e.type)).toEqual(['generation']);
    expect(audit.tried[0]).not.toHaveProperty('error');
  }, 60_000);

  it('a generation that failed: observed once with its error, its event tried, the audit error thrown (a job retries it)', async () => {
    const audit = new FailingAuditLog();
    const seen: Observation[] = [];
    const broken: Engine = {
      name: 'broken',
      propose: () => Promise.reject(new Error('engine exploded')),
    };
    await expect(
      generateRule(
        { cveId: 'CVE-2021-44228', record, maxInputBytes: 1 << 20, save: false },
        { engine: broken, lookup: { offline: true }, audit, observe: (o) => seen.push(o) },
      ),
    ).rejects.toThrow('audit spool: disk full');
    expect(seen).toHaveLength(1);
    expect((seen[0]!.error as Error).message).toBe('engine exploded');
    expect(audit.tried).toHaveLength(1);
    expect(audit.tried[0]).toMatchObject({ type: 'generation', passed: false });
  }, 60_000);
});
