// The CDK app synthesised once (no AWS account: aws-cdk-lib/assertions on the templates), for a
// primary and a secondary region with failover DNS: the serverless stack's parts, the alarms that
// mirror ops/prometheus/alerts.yml, the daily backup schedule and bucket lifecycle, and the
// health-checked failover records.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';

import { readAlertRules } from '../../infra/alarms.js';
import { buildApp, settingsFromEnv } from '../../infra/app.js';
import { createMetrics, observeGeneration } from '../../src/observability/index.js';
import { withEmbeddedMetrics } from '../../src/worker/emf.js';
import { REPO_ROOT } from '../support/shared.js';

const RULES = resolve(REPO_ROOT, 'ops/prometheus/alerts.yml');
const alerts = readAlertRules(RULES);

let primary: Template;
let secondary: Template;

beforeAll(() => {
  // A stand-in for the bundle (npm run infra:bundle): the asset is only hashed here.
  const codeDir = mkdtempSync(join(tmpdir(), 'wafgen-cdk-code-'));
  writeFileSync(join(codeDir, 'package.json'), '{"type":"module"}\n');
  const settings = settingsFromEnv({
    WAFGEN_PRIMARY_REGION: 'eu-west-1',
    WAFGEN_SECONDARY_REGION: 'eu-central-1',
    CDK_DEFAULT_ACCOUNT: '123456789012',
    WAFGEN_CODE_DIR: codeDir,
    WAFGEN_TABLE_PREFIX: 'prod-',
    WAFGEN_DOMAIN: 'api.wafgen.example.com',
    WAFGEN_HOSTED_ZONE_ID: 'Z0123456789ABCDEFGHIJ',
    WAFGEN_PRIMARY_CERTIFICATE_ARN: 'arn:aws:acm:eu-west-1:123456789012:certificate/primary',
    WAFGEN_SECONDARY_CERTIFICATE_ARN: 'arn:aws:acm:eu-central-1:123456789012:certificate/secondary',
  });
  const built = buildApp(settings);
  primary = Template.fromStack(built.primary);
  secondary = Template.fromStack(built.secondary);
}, 60_000);

describe('settings', () => {
  it('take both regions as parameters and refuse half a failover domain', () => {
    expect(settingsFromEnv({})).toMatchObject({ primaryRegion: 'us-east-1', secondaryRegion: 'us-west-2' });
    expect(() => settingsFromEnv({ WAFGEN_PRIMARY_REGION: 'mars' })).toThrow(/WAFGEN_PRIMARY_REGION must be/);
    expect(() => settingsFromEnv({ WAFGEN_PRIMARY_REGION: 'us-west-2' })).toThrow(/must differ/);
    expect(() => settingsFromEnv({ WAFGEN_DOMAIN: 'api.example.com' })).toThrow(/needs all of/);
  });
});

describe('the serverless stack', () => {
  it('runs the API, worker and backup functions from the compiled handlers, in the VPC', () => {
    for (const [handler, timeout] of [
      ['dist/api/adapters/lambda.handler', 30],
      ['dist/worker/lambda.handler', 300],
      ['dist/worker/backup-lambda.handler', 900],
    ] as const)
      primary.hasResourceProperties('AWS::Lambda::Function', {
        Handler: handler,
        Runtime: 'nodejs22.x',
        Timeout: timeout,
        VpcConfig: Match.objectLike({ SubnetIds: Match.anyValue() }),
        Environment: {
          Variables: Match.objectLike({
            WAFGEN_STORE: 'dynamodb',
            WAFGEN_DYNAMODB_TABLE_PREFIX: 'prod-',
            WAFGEN_QUEUE: 'sqs',
            WAFGEN_SQS_QUEUE_URL: Match.anyValue(),
            WAFGEN_SQS_DLQ_URL: Match.anyValue(),
            REDIS_URL: Match.anyValue(),
            WAFGEN_SECRETS_ARN: Match.anyValue(),
            WAFGEN_BACKUP_BUCKET: Match.anyValue(),
          }),
        },
      });
    primary.hasResourceProperties('AWS::ApiGatewayV2::Api', { ProtocolType: 'HTTP' });
    primary.resourceCountIs('AWS::ApiGatewayV2::Integration', 1);
  });

  it('feeds the worker from a FIFO queue with a dead-letter queue and partial batch failures', () => {
    const queues = primary.findResources('AWS::SQS::Queue');
    const [dlqId] = Object.entries(queues).find(([, q]) => !q.Properties.RedrivePolicy)!;
    primary.hasResourceProperties('AWS::SQS::Queue', {
      FifoQueue: true,
      VisibilityTimeout: 1800, // six times the worker's 300 s
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] }, maxReceiveCount: 4 },
    });
    expect(queues[dlqId]!.Properties.FifoQueue).toBe(true);
    primary.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  it('keeps the store in a DynamoDB global table with the keys the store uses and a replica in the secondary', () => {
    primary.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      TableName: 'prod-wafgen',
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: [1, 2, 3].map((n) =>
        Match.objectLike({
          IndexName: `gsi${n}`,
          KeySchema: [
            { AttributeName: `g${n}pk`, KeyType: 'HASH' },
            { AttributeName: `g${n}sk`, KeyType: 'RANGE' },
          ],
        }),
      ),
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      // PITR in both regions (the table's setting applies to every replica).
      Replicas: Match.arrayWith([
        Match.objectLike({
          Region: 'eu-west-1',
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        }),
      ]),
    });
    primary.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      Replicas: Match.arrayWith([
        Match.objectLike({
          Region: 'eu-central-1',
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        }),
      ]),
    });
    // The secondary uses the replica: it makes no table of its own.
    secondary.resourceCountIs('AWS::DynamoDB::GlobalTable', 0);
    secondary.resourceCountIs('AWS::DynamoDB::Table', 0);
  });

  it('has Redis with TLS in two zones, and a secret replicated to the secondary', () => {
    primary.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', {
      Engine: 'redis',
      TransitEncryptionEnabled: true,
      AtRestEncryptionEnabled: true,
      MultiAZEnabled: true,
      NumCacheClusters: 2,
    });
    primary.hasResourceProperties('AWS::SecretsManager::Secret', {
      Name: 'wafgen/service',
      ReplicaRegions: [{ Region: 'eu-central-1' }],
    });
    secondary.resourceCountIs('AWS::SecretsManager::Secret', 0);
  });
});

describe('alarms mirror ops/prometheus/alerts.yml', () => {
  it('one CloudWatch alarm per Prometheus alert, with its threshold, direction and pending period', () => {
    expect(alerts.length).toBeGreaterThanOrEqual(13);
    const alarms = Object.values(primary.findResources('AWS::CloudWatch::Alarm')).map(
      (r) => r.Properties as Record<string, unknown>,
    );
    for (const a of alerts) {
      const alarm = alarms.find((p) => p.AlarmName === `${a.name}-eu-west-1`);
      expect(alarm, a.name).toBeDefined();
      expect(alarm!.Threshold, a.name).toBe(a.threshold);
      expect(String(alarm!.ComparisonOperator), a.name).toMatch(
        a.comparison.startsWith('<') ? /^LessThan/ : /^GreaterThan/,
      );
      const period =
        (alarm!.Period as number | undefined) ??
        ((alarm!.Metrics as { MetricStat?: { Period: number } }[]).find((x) => x.MetricStat)?.MetricStat
          ?.Period as number);
      expect((alarm!.EvaluationPeriods as number) * period, a.name).toBeGreaterThanOrEqual(
        Math.max(a.forSeconds, period),
      );
      expect(String(alarm!.AlarmDescription), a.name).toContain(a.summary);
    }
  });

  it("the generation alarms read the metrics the functions' EMF lines publish, by the dimensions published", () => {
    // One line as the Lambda handlers write it (an error: its directive declares every metric too).
    const lines: string[] = [];
    const metrics = withEmbeddedMetrics(createMetrics(), (l) => lines.push(l));
    observeGeneration(
      {
        requestId: 'r',
        cveId: 'CVE-2021-44228',
        principal: 'p',
        error: new Error('x'),
        engine: 'llm',
        latencyMs: 1,
      },
      { metrics },
    );
    const directive = (
      JSON.parse(lines[0]!) as {
        _aws: {
          CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[];
        };
      }
    )._aws.CloudWatchMetrics[0]!;
    const published = new Set(directive.Metrics.map((x) => x.Name));
    const dimensionSets = directive.Dimensions.map((d) => [...d].sort().join(','));
    type Stat = { Metric: { Namespace: string; MetricName: string; Dimensions?: { Name: string }[] } };
    const generation = /^Wafgen(Generation|Attempts|Tokens|Cost|Validation|Llm)/;
    let checked = 0;
    for (const r of Object.values(primary.findResources('AWS::CloudWatch::Alarm'))) {
      const p = r.Properties as {
        AlarmName: string;
        Namespace?: string;
        MetricName?: string;
        Dimensions?: { Name: string }[];
        Metrics?: { MetricStat?: Stat }[];
      };
      if (!generation.test(p.AlarmName)) continue;
      const stats: Stat['Metric'][] = p.MetricName
        ? [
            {
              Namespace: p.Namespace!,
              MetricName: p.MetricName,
              ...(p.Dimensions ? { Dimensions: p.Dimensions } : {}),
            },
          ]
        : (p.Metrics ?? []).flatMap((x) => (x.MetricStat ? [x.MetricStat.Metric] : []));
      expect(stats.length, p.AlarmName).toBeGreaterThan(0);
      for (const metric of stats) {
        expect(metric.Namespace, p.AlarmName).toBe(directive.Namespace);
        expect(published, `${p.AlarmName}: ${metric.MetricName}`).toContain(metric.MetricName);
        const dims = (metric.Dimensions ?? [])
          .map((d) => d.Name)
          .sort()
          .join(',');
        expect(dimensionSets, `${p.AlarmName}: dimensions ${dims}`).toContain(dims);
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(11);
  });

  it('reads the thresholds from the rules file itself', () => {
    const byName = Object.fromEntries(alerts.map((a) => [a.name, a]));
    expect(byName.WafgenGenerationSuccessRateLow).toMatchObject({
      threshold: 0.95,
      comparison: '<',
      forSeconds: 900,
    });
    expect(byName.WafgenGenerationLatencyP99High).toMatchObject({ threshold: 30, comparison: '>' });
    expect(byName.WafgenCostPerRuleHigh).toMatchObject({ threshold: 0.1, forSeconds: 1800 });
    expect(byName.WafgenQueueBacklog).toMatchObject({ threshold: 300, comparison: '>' });
    expect(byName.WafgenAuditEventsDeadLettered).toMatchObject({ threshold: 0, forSeconds: 0 });
  });

  it('an alert the app has no metric for fails the synth instead of going unwatched', async () => {
    const { mirrorAlerts } = await import('../../infra/alarms.js');
    const { Stack } = await import('aws-cdk-lib');
    const stack = new Stack();
    expect(() =>
      mirrorAlerts(stack, [{ ...alerts[0]!, name: 'WafgenSomethingNew' }], 'jobs.fifo', 'test'),
    ).toThrow(/WafgenSomethingNew .* has no CloudWatch metric/);
  });
});

describe('backups', () => {
  it('a daily EventBridge rule invokes the backup function, enabled in the primary only', () => {
    const rule = (t: Template) =>
      Object.values(t.findResources('AWS::Events::Rule'))[0]!.Properties as Record<string, unknown>;
    expect(rule(primary)).toMatchObject({ ScheduleExpression: 'cron(0 3 * * ? *)', State: 'ENABLED' });
    expect(rule(secondary)).toMatchObject({ ScheduleExpression: 'cron(0 3 * * ? *)', State: 'DISABLED' });
    const backupFn = Object.entries(primary.findResources('AWS::Lambda::Function')).find(
      ([, f]) => f.Properties.Handler === 'dist/worker/backup-lambda.handler',
    )![0];
    expect(rule(primary).Targets).toEqual([
      expect.objectContaining({ Arn: { 'Fn::GetAtt': [backupFn, 'Arn'] } }),
    ]);
  });

  it('the backup bucket is private and expires backups after 30 days', () => {
    primary.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      LifecycleConfiguration: {
        Rules: [Match.objectLike({ ExpirationInDays: 30, Prefix: 'backups/', Status: 'Enabled' })],
      },
    });
  });
});

describe('region failover', () => {
  it('each region has a health check on its own API /readyz and a failover alias of the same name', () => {
    for (const [t, role, region] of [
      [primary, 'PRIMARY', 'eu-west-1'],
      [secondary, 'SECONDARY', 'eu-central-1'],
    ] as const) {
      t.hasResourceProperties('AWS::Route53::HealthCheck', {
        HealthCheckConfig: Match.objectLike({
          Type: 'HTTPS',
          ResourcePath: '/readyz',
          FullyQualifiedDomainName: {
            'Fn::Join': ['', [Match.anyValue(), `.execute-api.${region}.amazonaws.com`]],
          },
        }),
      });
      const health = Object.keys(t.findResources('AWS::Route53::HealthCheck'))[0]!;
      t.hasResourceProperties('AWS::Route53::RecordSet', {
        Name: 'api.wafgen.example.com',
        Type: 'A',
        Failover: role,
        HostedZoneId: 'Z0123456789ABCDEFGHIJ',
        HealthCheckId: { 'Fn::GetAtt': [health, 'HealthCheckId'] },
        AliasTarget: Match.objectLike({ EvaluateTargetHealth: true }),
      });
      t.hasResourceProperties('AWS::ApiGatewayV2::DomainName', {
        DomainName: 'api.wafgen.example.com',
        DomainNameConfigurations: [
          Match.objectLike({ CertificateArn: Match.stringLikeRegexp(`^arn:aws:acm:${region}:`) }),
        ],
      });
    }
  });
});
