/**
 * @module Coverage by severity, for the quality dashboard: per severity, how many CVEs the store
 * knows and how many are protected, i.e. have a deployed rule that was proven. Deployed means the
 * CVE's latest deployment event (`wafgen deploy`, kept as `deploy` audit events in the store, see
 * src/deploy/history.ts) left a rule version in place (deploy, promote, or a rollback to a version,
 * not a removal); proven means that version's report says so. One query over the store, run at
 * scrape time and kept for a minute (a scrape every 15 s would otherwise run it four times a minute).
 */
import { sql } from '../store/kysely.js';

import type { Store } from '../store/index.js';

export interface SeverityCoverage {
  severity: string;
  cves: number;
  protected: number;
}

/** How long one answer serves scrapes. */
const COVERAGE_CACHE_MS = 60_000;

export async function coverageBySeverity(store: Pick<Store, 'db'>): Promise<SeverityCoverage[]> {
  const { rows } = await sql<{ severity: string; cves: number; protected: number }>`
    with latest_deploy as (
      select distinct on (cve_id) cve_id, data
      from audit_events
      where type = 'deploy' and cve_id is not null
      order by cve_id, at desc, id desc
    )
    select v.severity as severity,
      count(*)::int as cves,
      (count(*) filter (
        where d.cve_id is not null
          and coalesce(d.data->>'removed', 'false') <> 'true'
          and d.data->>'version' is not null
          and exists (
            select 1 from rules r
            where r.cve_id = v.id
              and r.version = (d.data->>'version')::int
              and (r.report->>'verdict' = 'proven'
                or (r.report->>'verdict' is null and r.report->>'passed' = 'true'))
          )
      ))::int as protected
    from vulnerabilities v
    left join latest_deploy d on d.cve_id = v.id
    group by v.severity
    order by v.severity
  `.execute(store.db);
  return rows.map((r) => ({ severity: r.severity, cves: Number(r.cves), protected: Number(r.protected) }));
}

/** A probe for `metrics.setCoverageProbe`: the query above, answered from memory for a minute. */
export function coverageProbe(
  store: Pick<Store, 'db'>,
  now = () => Date.now(),
): () => Promise<SeverityCoverage[]> {
  let last: { at: number; value: Promise<SeverityCoverage[]> } | undefined;
  return () => {
    if (!last || now() - last.at > COVERAGE_CACHE_MS) {
      const value = coverageBySeverity(store);
      last = { at: now(), value };
      // A failed query is not kept: the next scrape asks again.
      value.catch(() => {
        if (last?.value === value) last = undefined;
      });
    }
    return last.value;
  };
}
