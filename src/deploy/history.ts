// What wafgen did to which target, kept as audit events (type `deploy`) in the store. AWS does not say
// when a rule's action last changed, nor which wafgen version a deployed rule is; these records do:
// the soak check reads when a rule went into Count, and rollback reads which action a version had.
import type { AuditRepository } from '../store/index.js';
import type { Scope, TargetKind } from './client.js';

const DEPLOY_EVENT = 'deploy';

export type DeployOperation = 'deploy' | 'promote' | 'rollback';

interface DeploymentRecord {
  operation: DeployOperation;
  /** The target's ARN. */
  target: string;
  targetKind: TargetKind;
  targetName: string;
  scope: Scope;
  region?: string;
  ruleName: string;
  cveId?: string;
  /** The store version now deployed (absent for a rule file, or when the rule was removed). */
  version?: number;
  /** The rule's action after the change; absent when it was removed. */
  action?: string;
  priority?: number;
  removed?: boolean;
  attempts: number;
}

export interface DeploymentEvent extends DeploymentRecord {
  at: string;
}

export interface DeploymentHistory {
  record(record: DeploymentRecord, principal?: string): Promise<void>;
  /** The target's records for one rule, newest first. */
  list(target: string, ruleName: string, cveId?: string): Promise<DeploymentEvent[]>;
}

/** History kept in the store's audit events. */
export function auditHistory(audit: AuditRepository, principal = 'cli'): DeploymentHistory {
  return {
    async record(record, who = principal) {
      await audit.record({
        type: DEPLOY_EVENT,
        principal: who,
        ...(record.cveId ? { cveId: record.cveId } : {}),
        data: record,
      });
    },
    async list(target, ruleName, cveId) {
      const events = await audit.list({ type: DEPLOY_EVENT, ...(cveId ? { cveId } : {}), limit: 1000 });
      return events
        .map((e) => ({ ...(e.data as DeploymentRecord), at: e.at }))
        .filter((r) => r.target === target && r.ruleName === ruleName);
    },
  };
}

/** History in memory (tests, or a library user without a store). */
export function memoryHistory(now: () => Date = () => new Date()): DeploymentHistory & {
  events: DeploymentEvent[];
} {
  const events: DeploymentEvent[] = [];
  return {
    events,
    async record(record) {
      events.unshift({ ...record, at: now().toISOString() });
    },
    async list(target, ruleName) {
      return events.filter((e) => e.target === target && e.ruleName === ruleName);
    },
  };
}
