// The soak check before promotion, kept deliberately simple: the rule must have been in Count for the
// soak period (as wafgen's own deployment records say; AWS does not keep that date), and AWS's sampled
// requests for the rule since it went into Count must hold no match at all. wafgen cannot tell an
// attack from a false positive in a sample, so every match counts as unexpected and is shown for a
// person to judge; promoting without --soak is the way past a reviewed match. Samples exist only when
// the rule has SampledRequestsEnabled, cover at most the last three hours, and are a sample: a clean
// one lowers the risk of false positives, it does not rule them out.
import {
  GetSampledRequestsCommand,
  type SampledHTTPRequest,
  type Rule as SdkRule,
  type WAFV2Client,
} from '@aws-sdk/client-wafv2';

import { InputError } from '../core/errors.js';
import { createClient, resolveTarget, type ClientOptions, type DeployTarget } from './client.js';
import { DeployError, describeAwsError } from './errors.js';
import type { DeploymentHistory } from './history.js';
import { loadTarget, type LoadedTarget } from './target.js';

import { MAX_SOAK_MINUTES } from './limits.js';

export { MAX_SOAK_MINUTES };
const SAMPLE_MAX_ITEMS = 500;

export interface SoakReport {
  minutes: number;
  /** When the rule went into Count, from the deployment records. */
  countSince: string;
  window: { start: string; end: string };
  /** Sampled requests that matched the rule in the window (each one blocks promotion). */
  matches: number;
  /** AWS's estimate of how many requests the sample stands for. */
  population: number;
  examples: string[];
}

function describeSample(s: SampledHTTPRequest): string {
  const r = s.Request;
  const at = s.Timestamp ? `${s.Timestamp.toISOString()} ` : '';
  return `${at}${r?.Method ?? '?'} ${r?.URI ?? '?'} from ${r?.ClientIP ?? '?'}${s.Action ? ` (${s.Action})` : ''}`;
}

export async function checkSoak(
  client: WAFV2Client,
  loaded: LoadedTarget,
  rule: SdkRule,
  minutes: number,
  history: DeploymentHistory | undefined,
  now: Date,
  cveId?: string,
): Promise<SoakReport> {
  const name = rule.Name ?? '';
  if (!rule.VisibilityConfig?.SampledRequestsEnabled)
    throw new DeployError(
      `${name} has SampledRequestsEnabled off, so there are no sampled requests to check; promote without --soak, or redeploy with sampling on`,
      'soak',
    );
  const events = history ? await history.list(loaded.arn, name, cveId) : [];
  const latest = events[0];
  if (!latest || latest.removed || latest.action !== 'Count')
    throw new DeployError(
      `no record of when ${name} went into Count on ${loaded.name} (wafgen keeps one per deployment in its store); ` +
        'promote without --soak to skip the soak check',
      'soak',
    );
  const since = new Date(latest.at);
  const elapsed = (now.getTime() - since.getTime()) / 60_000;
  if (elapsed < minutes) {
    const ready = new Date(since.getTime() + minutes * 60_000);
    throw new DeployError(
      `${name} has been in Count for ${Math.floor(elapsed)} of the ${minutes} soak minutes; promote after ${ready.toISOString()}`,
      'soak',
    );
  }
  const start = windowStart(since, now);
  let samples: SampledHTTPRequest[];
  let population = 0;
  try {
    ({ samples, population } = await readSamples(
      client,
      loaded,
      rule.VisibilityConfig.MetricName,
      start,
      now,
    ));
  } catch (e) {
    throw describeAwsError(e, `reading sampled requests of ${name}`);
  }
  const report: SoakReport = {
    minutes,
    countSince: since.toISOString(),
    window: { start: start.toISOString(), end: now.toISOString() },
    matches: samples.length,
    population,
    examples: samples.slice(0, 5).map(describeSample),
  };
  if (samples.length > 0) {
    throw new DeployError(
      `${samples.length} sampled request${samples.length === 1 ? '' : 's'} matched ${name} while in Count ` +
        `since ${report.countSince} (e.g. ${report.examples[0]}); review them, then promote without --soak if they are attacks`,
      'soak',
      undefined,
      { soak: report },
    );
  }
  return report;
}

/** Where a sample window starts: when the rule went into Count, at most the last three hours (AWS's limit). */
function windowStart(since: Date, now: Date): Date {
  return new Date(Math.max(since.getTime(), now.getTime() - MAX_SOAK_MINUTES * 60_000 + 60_000));
}

/** The requests AWS sampled for a rule's metric in the window, and the population they stand for. */
async function readSamples(
  client: WAFV2Client,
  loaded: Pick<LoadedTarget, 'arn' | 'scope'>,
  metricName: string | undefined,
  start: Date,
  now: Date,
): Promise<{ samples: SampledHTTPRequest[]; population: number }> {
  const r = await client.send(
    new GetSampledRequestsCommand({
      WebAclArn: loaded.arn,
      RuleMetricName: metricName,
      Scope: loaded.scope,
      TimeWindow: { StartTime: start, EndTime: now },
      MaxItems: SAMPLE_MAX_ITEMS,
    }),
  );
  return { samples: r.SampledRequests ?? [], population: r.PopulationSize ?? 0 };
}

export interface SampleCount {
  /** Sampled requests that matched the rule in the window (what it would have blocked in Block). */
  matches: number;
  /** AWS's estimate of how many requests the sample stands for. */
  population: number;
  window: { start: string; end: string };
  /** The rule has SampledRequestsEnabled off: AWS keeps no sample to count. */
  sampling: boolean;
}

/**
 * How many sampled requests matched a rule of a web ACL since `since` (at most the last three hours):
 * the soak status the review console shows beside a rule in Count. Read-only.
 */
export async function countSampledMatches(
  target: DeployTarget,
  ruleName: string,
  since: Date,
  options: ClientOptions & { now?: Date } = {},
): Promise<SampleCount> {
  const resolved = resolveTarget(target);
  if (resolved.kind !== 'web-acl' || !resolved.id)
    throw new InputError('sampled requests are read per web ACL, given by ARN');
  const client = createClient(resolved.region, options);
  const now = options.now ?? new Date();
  const start = windowStart(since, now);
  const window = { start: start.toISOString(), end: now.toISOString() };
  try {
    const loaded = await loadTarget(client, {
      kind: 'web-acl',
      scope: resolved.scope,
      name: resolved.name,
      id: resolved.id,
    });
    const rule = loaded.rules.find((r) => r.Name === ruleName);
    if (!rule) throw new DeployError(`${ruleName} is not in web ACL ${resolved.name}`, 'not-found');
    if (!rule.VisibilityConfig?.SampledRequestsEnabled)
      return { matches: 0, population: 0, window, sampling: false };
    const { samples, population } = await readSamples(
      client,
      loaded,
      rule.VisibilityConfig.MetricName,
      start,
      now,
    );
    return { matches: samples.length, population, window, sampling: true };
  } catch (e) {
    throw describeAwsError(e, `reading sampled requests of ${ruleName}`);
  }
}
