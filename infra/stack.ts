/**
 * @module The serverless wafgen stack, one per region (infra/app.ts makes a primary and a secondary
 * from the same class): API Gateway (HTTP API) in front of the API Lambda, a FIFO SQS job queue with
 * its dead-letter queue feeding the worker Lambda (partial batch failures), the DynamoDB table (a
 * global table made in the primary with a replica in the secondary), ElastiCache Redis (cache and
 * rate limits), Secrets Manager (replicated to the secondary), CloudWatch alarms mirroring
 * ops/prometheus/alerts.yml, a daily EventBridge rule invoking the backup Lambda, an S3 backup
 * bucket whose objects expire after 30 days, and, when a domain is given, the API's regional custom
 * domain with a Route 53 health check and a failover alias record (PRIMARY or SECONDARY).
 */
import { Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elasticache from 'aws-cdk-lib/aws-elasticache';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';

import { mirrorAlerts, type PromAlert } from './alarms.js';

/** Backups kept this many days: the bucket's lifecycle rule and the backup job's own pruning. */
const BACKUP_RETENTION_DAYS = 30;
/** Daily at 03:00 UTC, as the worker's repeatable job (WAFGEN_BACKUP_SCHEDULE's default). */
const BACKUP_CRON = { minute: '0', hour: '3' };
/** The worker function's timeout; the queue's visibility timeout is six times it (AWS's guidance). */
const WORKER_TIMEOUT = Duration.minutes(5);
/** Receives before a job goes to the dead-letter queue: WAFGEN_JOB_ATTEMPTS (3) + 1. */
const MAX_RECEIVES = 4;
const SECRET_NAME = 'wafgen/service';

export interface FailoverDomain {
  /** The API's name, e.g. api.wafgen.example.com: the same in both regions. */
  domainName: string;
  hostedZoneId: string;
  /** An ACM certificate for domainName in this stack's region. */
  certificateArn: string;
}

export interface WafgenStackProps extends StackProps {
  env: { account?: string; region: string };
  /** The primary makes the global table and the secret (replicated to `peerRegion`); the secondary uses the replicas. */
  role: 'primary' | 'secondary';
  /** The other region of the pair. */
  peerRegion: string;
  /** A folder with dist/, data/, package.json and production node_modules (`npm run infra:bundle`). */
  codeDir: string;
  /** The Prometheus alert rules the CloudWatch alarms mirror (readAlertRules(ops/prometheus/alerts.yml)). */
  alerts: readonly PromAlert[];
  /** DynamoDB table name prefix (WAFGEN_DYNAMODB_TABLE_PREFIX); the table is `<prefix>wafgen`. */
  tablePrefix?: string;
  /** Health-checked failover DNS for the API; without it the API has only its execute-api URL. */
  failover?: FailoverDomain;
  /** Where alarms are mailed (an SNS topic is made either way). */
  alarmEmail?: string;
}

export class WafgenStack extends Stack {
  readonly api: apigw.HttpApi;
  readonly jobs: sqs.Queue;
  readonly deadLetters: sqs.Queue;
  readonly backups: s3.Bucket;
  readonly table: dynamodb.ITableV2;

  constructor(scope: Construct, id: string, props: WafgenStackProps) {
    super(scope, id, props);
    const primary = props.role === 'primary';
    const region = props.env.region;
    const tableName = `${props.tablePrefix ?? ''}wafgen`;

    // --- store: one table, keys and indexes as src/store/dynamodb/table.ts creates them (docs/dynamodb.md)
    if (primary) {
      const key = (name: string) => ({ name, type: dynamodb.AttributeType.STRING });
      this.table = new dynamodb.TableV2(this, 'Table', {
        tableName,
        partitionKey: key('pk'),
        sortKey: key('sk'),
        billing: dynamodb.Billing.onDemand(),
        globalSecondaryIndexes: [1, 2, 3].map((n) => ({
          indexName: `gsi${n}`,
          partitionKey: key(`g${n}pk`),
          sortKey: key(`g${n}sk`),
        })),
        timeToLiveAttribute: 'expiresAt',
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        deletionProtection: true,
        removalPolicy: RemovalPolicy.RETAIN,
        replicas: [{ region: props.peerRegion }],
      });
    } else {
      this.table = dynamodb.TableV2.fromTableName(this, 'Table', tableName);
    }

    // --- secrets: provider keys, JWT secret and the like, read by every function (WAFGEN_SECRETS_ARN)
    const secret = primary
      ? new secretsmanager.Secret(this, 'Secrets', {
          secretName: SECRET_NAME,
          description: 'wafgen service secrets (JSON: variable name -> value), applied at cold start',
          replicaRegions: [{ region: props.peerRegion }],
          removalPolicy: RemovalPolicy.RETAIN,
        })
      : secretsmanager.Secret.fromSecretNameV2(this, 'Secrets', SECRET_NAME);

    // --- network: the functions and Redis in private subnets
    const vpc = new ec2.Vpc(this, 'Vpc', { maxAzs: 2, natGateways: 1 });
    const functionsSg = new ec2.SecurityGroup(this, 'FunctionsSg', { vpc, description: 'wafgen functions' });
    const redisSg = new ec2.SecurityGroup(this, 'RedisSg', {
      vpc,
      description: 'wafgen Redis: from the functions only',
      allowAllOutbound: false,
    });
    redisSg.addIngressRule(functionsSg, ec2.Port.tcp(6379), 'functions to Redis');

    // --- cache: ElastiCache Redis, two nodes in two zones, TLS and encryption at rest
    const redisSubnets = new elasticache.CfnSubnetGroup(this, 'RedisSubnets', {
      description: 'wafgen Redis',
      subnetIds: vpc.privateSubnets.map((s) => s.subnetId),
    });
    const redis = new elasticache.CfnReplicationGroup(this, 'Redis', {
      replicationGroupDescription: 'wafgen rule cache and rate limits',
      engine: 'redis',
      engineVersion: '7.1',
      cacheNodeType: 'cache.t4g.small',
      numCacheClusters: 2,
      automaticFailoverEnabled: true,
      multiAzEnabled: true,
      transitEncryptionEnabled: true,
      atRestEncryptionEnabled: true,
      cacheSubnetGroupName: redisSubnets.ref,
      securityGroupIds: [redisSg.securityGroupId],
    });

    // --- queue: FIFO jobs (idempotent job ids as deduplication ids) and their dead letters
    this.deadLetters = new sqs.Queue(this, 'DeadLetters', {
      fifo: true,
      retentionPeriod: Duration.days(14),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    this.jobs = new sqs.Queue(this, 'Jobs', {
      fifo: true,
      contentBasedDeduplication: false,
      visibilityTimeout: Duration.seconds(WORKER_TIMEOUT.toSeconds() * 6),
      retentionPeriod: Duration.days(4),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      deadLetterQueue: { queue: this.deadLetters, maxReceiveCount: MAX_RECEIVES },
    });

    // --- backups: S3, 30 days
    this.backups = new s3.Bucket(this, 'Backups', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [
        { id: 'expire-backups', prefix: 'backups/', expiration: Duration.days(BACKUP_RETENTION_DAYS) },
      ],
    });

    // --- functions
    const code = lambda.Code.fromAsset(props.codeDir);
    const environment: Record<string, string> = {
      NODE_ENV: 'production',
      NODE_OPTIONS: '--enable-source-maps',
      WAFGEN_DATA_DIR: '/tmp/wafgen',
      WAFGEN_STORE: 'dynamodb',
      WAFGEN_DYNAMODB_TABLE_PREFIX: props.tablePrefix ?? '',
      WAFGEN_QUEUE: 'sqs',
      WAFGEN_SQS_QUEUE_URL: this.jobs.queueUrl,
      WAFGEN_SQS_DLQ_URL: this.deadLetters.queueUrl,
      WAFGEN_SQS_VISIBILITY_TIMEOUT_S: String(WORKER_TIMEOUT.toSeconds() * 6),
      REDIS_URL: `rediss://${redis.attrPrimaryEndPointAddress}:${redis.attrPrimaryEndPointPort}`,
      WAFGEN_SECRETS_ARN: primary ? secret.secretArn : SECRET_NAME,
      WAFGEN_BACKUP_BUCKET: this.backups.bucketName,
      WAFGEN_BACKUP_RETENTION_DAYS: String(BACKUP_RETENTION_DAYS),
      WAFGEN_REGION_ROLE: props.role,
    };
    const fn = (id: string, handler: string, timeout: Duration, memorySize: number) => {
      const f = new lambda.Function(this, id, {
        runtime: lambda.Runtime.NODEJS_22_X,
        architecture: lambda.Architecture.ARM_64,
        code,
        handler,
        timeout,
        memorySize,
        environment,
        vpc,
        vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
        securityGroups: [functionsSg],
        tracing: lambda.Tracing.ACTIVE,
        logGroup: new logs.LogGroup(this, `${id}Logs`, { retention: logs.RetentionDays.ONE_MONTH }),
      });
      this.table.grantReadWriteData(f);
      secret.grantRead(f);
      return f;
    };
    const apiFn = fn('ApiFunction', 'dist/api/adapters/lambda.handler', Duration.seconds(30), 1024);
    const workerFn = fn('WorkerFunction', 'dist/worker/lambda.handler', WORKER_TIMEOUT, 2048);
    const backupFn = fn('BackupFunction', 'dist/worker/backup-lambda.handler', Duration.minutes(15), 1024);
    this.jobs.grantSendMessages(apiFn);
    this.jobs.grant(apiFn, 'sqs:GetQueueAttributes');
    this.jobs.grantConsumeMessages(workerFn);
    this.deadLetters.grantSendMessages(workerFn);
    this.deadLetters.grant(apiFn, 'sqs:GetQueueAttributes');
    workerFn.addEventSource(new SqsEventSource(this.jobs, { batchSize: 10, reportBatchItemFailures: true }));
    this.backups.grantReadWrite(backupFn);
    this.backups.grantDelete(backupFn);

    // --- the daily backup: enabled in the primary; the runbook enables the secondary's on failover
    new events.Rule(this, 'DailyBackup', {
      description: 'wafgen store backup to S3 (daily, 03:00 UTC)',
      schedule: events.Schedule.cron(BACKUP_CRON),
      enabled: primary,
      targets: [new targets.LambdaFunction(backupFn, { retryAttempts: 2 })],
    });

    // --- API
    this.api = new apigw.HttpApi(this, 'Api', {
      description: `wafgen API (${props.role}, ${region})`,
      defaultIntegration: new HttpLambdaIntegration('ApiIntegration', apiFn),
    });

    // --- alarms
    const topic = new sns.Topic(this, 'Alarms', { displayName: `wafgen alarms (${region})` });
    if (props.alarmEmail) topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    mirrorAlerts(this, props.alerts, this.jobs.queueName, region, new cloudwatchActions.SnsAction(topic));
    const dlqAlarm = this.deadLetters
      .metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' })
      .createAlarm(this, 'JobsDeadLettered', {
        alarmName: `WafgenJobsDeadLettered-${region}`,
        alarmDescription: 'Jobs reached the dead-letter queue: their generation failed every attempt',
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
      });
    dlqAlarm.addAlarmAction(new cloudwatchActions.SnsAction(topic));
    const backupAlarm = backupFn
      .metricErrors({ period: Duration.hours(1), statistic: 'Sum' })
      .createAlarm(this, 'BackupFailed', {
        alarmName: `WafgenBackupFailed-${region}`,
        alarmDescription: 'The daily store backup failed',
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
      });
    backupAlarm.addAlarmAction(new cloudwatchActions.SnsAction(topic));

    // --- failover: the same name in both regions, Route 53 answers with the healthy one
    if (props.failover) {
      const f = props.failover;
      const domain = new apigw.DomainName(this, 'ApiDomain', {
        domainName: f.domainName,
        certificate: acm.Certificate.fromCertificateArn(this, 'ApiCertificate', f.certificateArn),
      });
      new apigw.ApiMapping(this, 'ApiMapping', { api: this.api, domainName: domain });
      const health = new route53.CfnHealthCheck(this, 'ApiHealth', {
        healthCheckConfig: {
          type: 'HTTPS',
          fullyQualifiedDomainName: `${this.api.apiId}.execute-api.${region}.amazonaws.com`,
          resourcePath: '/readyz',
          port: 443,
          requestInterval: 10,
          failureThreshold: 3,
        },
        healthCheckTags: [{ key: 'Name', value: `wafgen-api-${region}` }],
      });
      new route53.CfnRecordSet(this, 'ApiFailoverRecord', {
        hostedZoneId: f.hostedZoneId,
        name: f.domainName,
        type: 'A',
        setIdentifier: `wafgen-${props.role}-${region}`,
        failover: primary ? 'PRIMARY' : 'SECONDARY',
        healthCheckId: health.attrHealthCheckId,
        aliasTarget: {
          dnsName: domain.regionalDomainName,
          hostedZoneId: domain.regionalHostedZoneId,
          evaluateTargetHealth: true,
        },
      });
    }
  }
}
