// Audit configuration from the environment, the event schema and builders, and the default sink
// (a JSON Lines file in the data folder).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';

import { describe, expect, it } from 'vitest';

import {
  AuditConfigError,
  AuditEventSchema,
  MemoryAuditLog,
  cliPrincipal,
  deploymentEvent,
  generationEvent,
  loadAuditConfig,
  openAuditLog,
  signWebhook,
  verifyWebhook,
} from '../../src/audit/index.js';
import { ConfigError } from '../../src/config/index.js';
import { redactText } from '../../src/observability/redact.js';
import { sampleEvent, sampleReport, tempDir } from './support.js';

const dataDir = '/var/lib/wafgen';

function problems(env: NodeJS.ProcessEnv): string[] {
  try {
    loadAuditConfig(env, { dataDir });
  } catch (e) {
    expect(e).toBeInstanceOf(AuditConfigError);
    expect(e).toBeInstanceOf(ConfigError);
    return (e as AuditConfigError).problems;
  }
  throw new Error('expected a configuration error');
}

describe('loadAuditConfig', () => {
  it('defaults to the JSON Lines file under the data folder', () => {
    const c = loadAuditConfig({}, { dataDir });
    expect(c.sinks).toEqual([{ kind: 'file', path: join(dataDir, 'audit', 'audit.jsonl') }]);
    expect(c).toMatchObject({
      spoolDir: join(dataDir, 'audit', 'spool'),
      batchSize: 100,
      flushIntervalMs: 1000,
      fsync: true,
      retry: { initialMs: 500, maxMs: 60_000 },
    });
    expect(loadAuditConfig({ WAFGEN_AUDIT_SINKS: 'none' }, { dataDir }).sinks).toEqual([]);
  });

  it('builds the SIEM endpoints from base URLs and sites', () => {
    const c = loadAuditConfig(
      {
        WAFGEN_AUDIT_SINKS: 'splunk, datadog,webhook',
        WAFGEN_SPLUNK_HEC_URL: 'https://splunk.example:8088',
        WAFGEN_SPLUNK_HEC_TOKEN: 'hec-token-value-1234',
        WAFGEN_SPLUNK_INDEX: 'security',
        DD_API_KEY: 'dd-key-value-1234',
        DD_SITE: 'datadoghq.eu',
        DD_ENV: 'prod',
        WAFGEN_AUDIT_WEBHOOK_URL: 'https://hooks.example/wafgen',
        WAFGEN_AUDIT_WEBHOOK_SECRET: 'a-long-enough-secret',
      },
      { dataDir },
    );
    expect(c.sinks.map((s) => s.kind)).toEqual(['splunk', 'datadog', 'webhook']);
    expect(c.sinks[0]).toMatchObject({
      url: 'https://splunk.example:8088/services/collector/event',
      index: 'security',
      sourcetype: 'wafgen:audit',
    });
    expect(c.sinks[1]).toMatchObject({
      url: 'https://http-intake.logs.datadoghq.eu/api/v2/logs',
      tags: 'env:prod',
    });
    // Secrets never print.
    const printed =
      JSON.stringify(c) + inspect(c, { depth: 5 }) + String((c.sinks[0] as { token: unknown }).token);
    for (const s of ['hec-token-value-1234', 'dd-key-value-1234', 'a-long-enough-secret']) {
      expect(printed).not.toContain(s);
      expect(redactText(`oops ${s} leaked`)).toBe('oops [redacted] leaked');
    }
  });

  it('names each bad variable and never echoes its value', () => {
    const p = problems({
      WAFGEN_AUDIT_SINKS: 'splunk,kafka',
      WAFGEN_AUDIT_BATCH_SIZE: '5000',
      WAFGEN_SPLUNK_HEC_URL: 'ftp://secret-host',
      WAFGEN_AUDIT_WEBHOOK_SECRET: 'short-secret',
    });
    const text = p.join('\n');
    expect(text).toMatch(/WAFGEN_AUDIT_SINKS lists unknown sink "kafka"/);
    expect(text).toMatch(/WAFGEN_AUDIT_BATCH_SIZE/);
    expect(text).toMatch(/WAFGEN_SPLUNK_HEC_URL must be a URL/);
    expect(text).toMatch(/WAFGEN_AUDIT_WEBHOOK_SECRET must be at least 16 characters/);
    expect(text).not.toContain('secret-host');
    expect(text).not.toContain('short-secret');
  });

  it('asks for the settings a chosen sink needs', () => {
    expect(problems({ WAFGEN_AUDIT_SINKS: 'splunk' })).toEqual([
      'WAFGEN_SPLUNK_HEC_URL must be set when WAFGEN_AUDIT_SINKS includes splunk',
      'WAFGEN_SPLUNK_HEC_TOKEN must be set when WAFGEN_AUDIT_SINKS includes splunk',
    ]);
    expect(problems({ WAFGEN_AUDIT_SINKS: 'datadog' })).toEqual([
      'DD_API_KEY must be set when WAFGEN_AUDIT_SINKS includes datadog',
    ]);
    expect(problems({ WAFGEN_AUDIT_SINKS: 'file,file' })[0]).toMatch(/lists a sink twice/);
    expect(problems({ WAFGEN_AUDIT_RETRY_INITIAL_MS: '5000', WAFGEN_AUDIT_RETRY_MAX_MS: '100' })[0]).toMatch(
      /WAFGEN_AUDIT_RETRY_MAX_MS must not be below/,
    );
  });
});

describe('audit events', () => {
  it('a generation event carries what the SIEM needs, from the report', () => {
    const e = generationEvent({
      requestId: 'req-1',
      cveId: 'cve-2021-44228',
      principal: 'cli:alice',
      ruleName: 'wafgen-CVE-2021-44228',
      ruleVersion: 3,
      timestamp: new Date('2025-01-02T03:04:05Z'),
      report: sampleReport({
        passed: false,
        reasons: ['blocks 2 benign request(s): b1, b2', 'misses 1 of 3 exploit request(s): x'],
        reasonCodes: ['false-positive', 'exploit-missed'],
      }),
    });
    expect(e).toMatchObject({
      schema: 'wafgen.audit/v1',
      type: 'generation',
      timestamp: '2025-01-02T03:04:05.000Z',
      cveId: 'CVE-2021-44228',
      generated: true,
      passed: false,
      ruleVersion: 3,
      reasonCodes: ['false-positive', 'exploit-missed'],
      tokens: { input: 1800, output: 420 },
    });
    expect(e.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(AuditEventSchema.parse(JSON.parse(JSON.stringify(e)))).toEqual(e);
  });

  it('a failed generation has no rule and a scrubbed error', () => {
    const e = generationEvent({
      requestId: 'req-2',
      cveId: 'CVE-2021-44228',
      principal: 'apikey:k1',
      engine: 'llm',
      durationMs: 1234.6,
      error: new Error('every LLM provider failed: 401 with key sk-abcdefghijklmnop1234'),
    });
    expect(e).toMatchObject({
      generated: false,
      passed: false,
      attempts: 0,
      engine: 'llm',
      durationMs: 1235,
    });
    expect(e.error).toBe('every LLM provider failed: 401 with key [redacted]');
  });

  it('a deployment event names the action, target and mode', () => {
    const e = deploymentEvent({
      requestId: 'req-3',
      cveId: 'CVE-2021-44228',
      principal: 'user:ops',
      ruleName: 'wafgen-CVE-2021-44228',
      ruleVersion: 2,
      report: sampleReport(),
      deployment: {
        action: 'promote',
        target: 'arn:aws:wafv2:us-east-1:123456789012:regional/rulegroup/wafgen/abc',
        scope: 'REGIONAL',
        mode: 'block',
        dryRun: false,
        ok: true,
      },
    });
    expect(e).toMatchObject({
      type: 'deployment',
      generated: true,
      deployment: { action: 'promote', mode: 'block' },
    });
    expect(() =>
      AuditEventSchema.parse({ ...e, deployment: { ...e.deployment, action: 'destroy' } }),
    ).toThrow();
    expect(() => AuditEventSchema.parse({ ...e, surprise: 1 })).toThrow();
  });

  it('a command-line principal names the OS user', () => {
    expect(cliPrincipal()).toMatch(/^cli:.+/);
  });

  it('the memory log validates what it keeps', async () => {
    const log = new MemoryAuditLog();
    await log.emit(sampleEvent(1));
    await expect(log.emit({ ...sampleEvent(2), cveId: 'nope' })).rejects.toThrow();
    expect(log.events).toHaveLength(1);
  });
});

describe('the default file sink', () => {
  it('appends one JSON line per event under the data folder, and leaves the spool empty', async () => {
    const dir = tempDir();
    const log = await openAuditLog(loadAuditConfig({ WAFGEN_AUDIT_FLUSH_MS: '0' }, { dataDir: dir }));
    const sent = [sampleEvent(1), sampleEvent(2), sampleEvent(3)];
    for (const e of sent) await log.emit(e);
    await log.close();
    const written = readFileSync(join(dir, 'audit', 'audit.jsonl'), 'utf8')
      .trim()
      .split('\n');
    expect(written.map((l) => (JSON.parse(l) as { id: string }).id)).toEqual(sent.map((e) => e.id));
    expect(log.status()[0]).toMatchObject({ sink: 'file', pending: 0 });
    await expect(log.emit(sampleEvent(4))).rejects.toThrow(/closed/);
  });
});

describe('webhook signatures', () => {
  it('verify over the raw body and a fresh timestamp only', () => {
    const secret = 'whsec-0123456789abcdef';
    const now = Date.now();
    const ts = String(Math.floor(now / 1000));
    const body = '{"events":[]}';
    const signature = signWebhook(secret, ts, body);
    expect(verifyWebhook(secret, { signature, timestamp: ts }, body, { now })).toBe(true);
    expect(verifyWebhook(secret, { signature, timestamp: ts }, body + ' ', { now })).toBe(false);
    expect(verifyWebhook('another-secret-value', { signature, timestamp: ts }, body, { now })).toBe(false);
    expect(verifyWebhook(secret, { signature, timestamp: ts }, body, { now: now + 10 * 60_000 })).toBe(false);
    expect(verifyWebhook(secret, { signature: undefined, timestamp: ts }, body, { now })).toBe(false);
  });
});
