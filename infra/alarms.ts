/**
 * @module CloudWatch alarms that mirror the Prometheus alert rules in ops/prometheus/alerts.yml. The
 * rules file is read at synth time: each alert's name, threshold (the first comparison of its
 * expression), comparison, pending period (`for`), severity and summary come from it, so the two
 * cannot drift; only which CloudWatch metric stands for each expression is written here, and an
 * alert without one fails the synth. The generation alerts read the metrics the functions publish
 * in CloudWatch embedded metric format (src/worker/emf.ts: Generations, RulesFailed,
 * GenerationErrors, DurationMs, Attempts, Llm*, and wafgen_llm_breaker_state, _fallbacks_total and
 * _failovers_total in the `wafgen` namespace; the audit alerts read wafgen_audit_events_total and
 * wafgen_audit_spool_pending from the line written per audit delivery); the queue backlog is SQS's
 * own ApproximateAgeOfOldestMessage. The rate-limit alert names a series only the HTTP API's limiter
 * counts, which no function publishes yet: that alarm gets no data (and treats it as not breaching).
 */
import { readFileSync } from 'node:fs';

import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type { Construct } from 'constructs';
import { parse } from 'yaml';

export interface PromAlert {
  name: string;
  expr: string;
  /** Seconds the condition must hold (`for`); 0 when the rule has none. */
  forSeconds: number;
  severity: string;
  summary: string;
  threshold: number;
  comparison: '>' | '<' | '==' | '>=' | '<=';
}

const DURATION = /^(\d+)(s|m|h)$/;

function seconds(text: string | undefined, alert: string): number {
  if (text === undefined) return 0;
  const m = DURATION.exec(text);
  if (!m) throw new Error(`alert ${alert}: cannot read for: ${text}`);
  return Number(m[1]) * { s: 1, m: 60, h: 3600 }[m[2] as 's' | 'm' | 'h'];
}

/** The alert rules of a Prometheus rules file, with the threshold each expression compares against. */
export function readAlertRules(file: string): PromAlert[] {
  const doc = parse(readFileSync(file, 'utf8')) as {
    groups: {
      rules: {
        alert?: string;
        expr: string;
        for?: string;
        labels?: { severity?: string };
        annotations?: { summary?: string };
      }[];
    }[];
  };
  return doc.groups.flatMap((g) =>
    g.rules.flatMap((r) => {
      if (!r.alert) return [];
      const cmp = /(>=|<=|==|>|<)\s*(-?[\d.]+)/.exec(r.expr);
      if (!cmp || !Number.isFinite(Number(cmp[2])))
        throw new Error(`alert ${r.alert}: no comparison with a number in its expression`);
      return [
        {
          name: r.alert,
          expr: r.expr,
          forSeconds: seconds(r.for, r.alert),
          severity: r.labels?.severity ?? 'warning',
          summary: r.annotations?.summary ?? r.alert,
          threshold: Number(cmp[2]),
          comparison: cmp[1] as PromAlert['comparison'],
        },
      ];
    }),
  );
}

const NS = 'wafgen';
const m = (metricName: string, statistic: string, dimensionsMap?: Record<string, string>) =>
  new cloudwatch.Metric({
    namespace: NS,
    metricName,
    statistic,
    ...(dimensionsMap ? { dimensionsMap } : {}),
  });

/** The period each alarm evaluates: per-minute rates use one minute, the rest five. */
function periodOf(alert: string): Duration {
  return /Failovers|RateLimit/.test(alert) ? Duration.minutes(1) : Duration.minutes(5);
}

/** The CloudWatch metric (or metric math) that stands for each Prometheus alert's expression. */
function metricFor(
  alert: string,
  jobsQueueName: string,
  period: Duration,
): cloudwatch.Metric | cloudwatch.MathExpression {
  // The generation family reads what the functions publish: one EMF line per generation
  // (src/worker/emf.ts), with no dimension for the totals and `engine` for the LLM's share.
  const written = m('Generations', 'Sum');
  const failed = m('RulesFailed', 'Sum');
  const errors = m('GenerationErrors', 'Sum');
  switch (alert) {
    case 'WafgenGenerationSuccessRateLow':
      return new cloudwatch.MathExpression({
        expression: '(written - failed) / (written + errors)',
        usingMetrics: { written, failed, errors },
        period,
      });
    case 'WafgenValidationFailureRateHigh':
      return new cloudwatch.MathExpression({
        expression: 'failed / written',
        usingMetrics: { written, failed },
        period,
      });
    case 'WafgenGenerationLatencyP99High':
      // The alert's threshold is in seconds, the line's DurationMs in milliseconds.
      return new cloudwatch.MathExpression({
        expression: 'ms / 1000',
        usingMetrics: { ms: m('DurationMs', 'p99') },
        period,
      });
    case 'WafgenAttemptsPerRuleHigh':
      return m('Attempts', 'Average');
    case 'WafgenTokensPerRuleHigh':
      return new cloudwatch.MathExpression({
        expression: 'input + output',
        usingMetrics: {
          input: m('LlmInputTokens', 'Average', { engine: 'llm' }),
          output: m('LlmOutputTokens', 'Average', { engine: 'llm' }),
        },
        period,
      });
    case 'WafgenCostPerRuleHigh':
      return m('LlmCostUsd', 'Average', { engine: 'llm' });
    case 'WafgenLlmBreakerOpen':
      return m('wafgen_llm_breaker_state', 'Maximum');
    case 'WafgenLlmFallbacks':
      return m('wafgen_llm_fallbacks_total', 'Sum');
    case 'WafgenLlmFailoversFrequent':
      return m('wafgen_llm_failovers_total', 'Sum');
    case 'WafgenQueueBacklog':
      return new cloudwatch.Metric({
        namespace: 'AWS/SQS',
        metricName: 'ApproximateAgeOfOldestMessage',
        dimensionsMap: { QueueName: jobsQueueName },
        statistic: 'Maximum',
      });
    case 'WafgenRateLimitRejections':
      return m('wafgen_rate_limit_rejections_total', 'Sum');
    case 'WafgenAuditDeliveryFailing':
      return m('wafgen_audit_spool_pending', 'Maximum');
    case 'WafgenAuditEventsDeadLettered':
      return m('wafgen_audit_events_total', 'Sum', { outcome: 'dead-lettered' });
    default:
      throw new Error(
        `alert ${alert} in ops/prometheus/alerts.yml has no CloudWatch metric in infra/alarms.ts`,
      );
  }
}

const OPERATOR: Record<PromAlert['comparison'], cloudwatch.ComparisonOperator> = {
  '>': cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
  '>=': cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
  '==': cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD, // a gauge at its top value
  '<': cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
  '<=': cloudwatch.ComparisonOperator.LESS_THAN_OR_EQUAL_TO_THRESHOLD,
};

/** One alarm per alert rule, named like it, evaluated over the rule's `for` (at least one period). */
export function mirrorAlerts(
  scope: Construct,
  alerts: readonly PromAlert[],
  jobsQueueName: string,
  /** Appended to each alarm's name (the region), so both regions' alarms read apart. */
  suffix: string,
  onAlarm?: cloudwatch.IAlarmAction,
): cloudwatch.Alarm[] {
  return alerts.map((a) => {
    const period = periodOf(a.name);
    const periods = Math.max(1, Math.ceil(a.forSeconds / period.toSeconds()));
    const alarm = new cloudwatch.Alarm(scope, a.name, {
      alarmName: `${a.name}-${suffix}`,
      alarmDescription: `${a.summary} (severity ${a.severity}; mirrors ops/prometheus/alerts.yml)`,
      metric: metricFor(a.name, jobsQueueName, period).with({ period }),
      threshold: a.threshold,
      comparisonOperator: OPERATOR[a.comparison],
      evaluationPeriods: periods,
      datapointsToAlarm: periods,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    if (onAlarm) alarm.addAlarmAction(onAlarm);
    return alarm;
  });
}
