// Sample reports and audit configurations for the audit tests.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
  generationEvent,
  loadAuditConfig,
  type AuditConfig,
  type GenerationAuditEvent,
} from '../../src/audit/index.js';
import type { ReportLike } from '../../src/observability/report.js';
import { DD_KEY, TOKEN, WEBHOOK_SECRET, type Receiver } from './receivers.js';

export function sampleReport(over: Partial<ReportLike> = {}): ReportLike {
  return {
    cveId: 'CVE-2021-44228',
    passed: true,
    attempts: 2,
    engine: 'llm',
    producedBy: 'llm',
    provider: 'openai',
    model: 'gpt-5-mini',
    usage: { inputTokens: 1800, outputTokens: 420 },
    costUsd: 0.00129,
    durationMs: 8200,
    reasons: [],
    reasonCodes: [],
    ...over,
  };
}

export function sampleEvent(n: number, over: Partial<ReportLike> = {}): GenerationAuditEvent {
  return generationEvent({
    requestId: `req-${n}`,
    cveId: `CVE-2024-${String(1000 + n)}`,
    principal: 'apikey:ci',
    ruleName: `wafgen-CVE-2024-${1000 + n}`,
    ruleVersion: 1,
    report: sampleReport({ cveId: `CVE-2024-${1000 + n}`, ...over }),
  });
}

export const tempDir = (prefix = 'wafgen-audit-') => mkdtempSync(join(tmpdir(), prefix));

/** Audit variables for one receiver, with quick retries so tests see recovery fast. */
export function envFor(receiver: Receiver, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    WAFGEN_AUDIT_SINKS: receiver.kind,
    WAFGEN_AUDIT_BATCH_SIZE: '10',
    WAFGEN_AUDIT_FLUSH_MS: '50',
    WAFGEN_AUDIT_RETRY_INITIAL_MS: '20',
    WAFGEN_AUDIT_RETRY_MAX_MS: '100',
    WAFGEN_AUDIT_TIMEOUT_MS: '2000',
    WAFGEN_AUDIT_CLOSE_TIMEOUT_MS: '300',
    ...(receiver.kind === 'splunk'
      ? { WAFGEN_SPLUNK_HEC_URL: receiver.url, WAFGEN_SPLUNK_HEC_TOKEN: TOKEN }
      : receiver.kind === 'datadog'
        ? { DD_API_KEY: DD_KEY, WAFGEN_DATADOG_LOGS_URL: receiver.url }
        : {
            WAFGEN_AUDIT_WEBHOOK_URL: `${receiver.url}/hooks/audit`,
            WAFGEN_AUDIT_WEBHOOK_SECRET: WEBHOOK_SECRET,
          }),
    ...extra,
  };
}

export function configFor(receiver: Receiver, dataDir: string, extra: NodeJS.ProcessEnv = {}): AuditConfig {
  return loadAuditConfig(envFor(receiver, extra), { dataDir });
}

/** Counts of each id: every value 1 means exactly once. */
export function counts(ids: readonly string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const id of ids) m.set(id, (m.get(id) ?? 0) + 1);
  return m;
}
