/**
 * @module The CDK app: the same WafgenStack in a primary and a secondary region (parameters, not
 * copies). `npx cdk deploy --all` from the repository root (cdk.json is in infra/: run it as
 * `npx cdk --app 'npx tsx infra/app.ts' deploy --all`). Settings, from the environment:
 *
 *   WAFGEN_PRIMARY_REGION (default us-east-1), WAFGEN_SECONDARY_REGION (default us-west-2),
 *   CDK_DEFAULT_ACCOUNT (set by the CDK CLI from the credentials), WAFGEN_TABLE_PREFIX,
 *   WAFGEN_CODE_DIR (default infra/.build/lambda, made by `npm run infra:bundle`),
 *   WAFGEN_ALARM_EMAIL, and for failover DNS all of WAFGEN_DOMAIN, WAFGEN_HOSTED_ZONE_ID,
 *   WAFGEN_PRIMARY_CERTIFICATE_ARN, WAFGEN_SECONDARY_CERTIFICATE_ARN.
 */
import { fileURLToPath } from 'node:url';

import { App } from 'aws-cdk-lib';

import { readAlertRules } from './alarms.js';
import { WafgenStack, type FailoverDomain } from './stack.js';

export interface AppSettings {
  primaryRegion: string;
  secondaryRegion: string;
  account?: string;
  codeDir: string;
  alertRulesFile: string;
  tablePrefix?: string;
  alarmEmail?: string;
  domain?: {
    domainName: string;
    hostedZoneId: string;
    certificateArns: [primary: string, secondary: string];
  };
}

const REGION = /^[a-z]{2,5}-[a-z-]{1,30}-\d{1,3}$/;

/** The settings from the environment; throws naming the variable that is wrong. */
export function settingsFromEnv(env: NodeJS.ProcessEnv): AppSettings {
  const primaryRegion = env.WAFGEN_PRIMARY_REGION || 'us-east-1';
  const secondaryRegion = env.WAFGEN_SECONDARY_REGION || 'us-west-2';
  for (const [k, v] of [
    ['WAFGEN_PRIMARY_REGION', primaryRegion],
    ['WAFGEN_SECONDARY_REGION', secondaryRegion],
  ] as const)
    if (!REGION.test(v)) throw new Error(`${k} must be an AWS region like us-east-1`);
  if (primaryRegion === secondaryRegion) throw new Error('the primary and secondary regions must differ');
  const dns = [
    env.WAFGEN_DOMAIN,
    env.WAFGEN_HOSTED_ZONE_ID,
    env.WAFGEN_PRIMARY_CERTIFICATE_ARN,
    env.WAFGEN_SECONDARY_CERTIFICATE_ARN,
  ];
  if (dns.some(Boolean) && !dns.every(Boolean))
    throw new Error(
      'failover DNS needs all of WAFGEN_DOMAIN, WAFGEN_HOSTED_ZONE_ID, WAFGEN_PRIMARY_CERTIFICATE_ARN, WAFGEN_SECONDARY_CERTIFICATE_ARN',
    );
  const [domainName, hostedZoneId, primaryCert, secondaryCert] = dns as string[];
  return {
    primaryRegion,
    secondaryRegion,
    ...(env.CDK_DEFAULT_ACCOUNT ? { account: env.CDK_DEFAULT_ACCOUNT } : {}),
    codeDir: env.WAFGEN_CODE_DIR || fileURLToPath(new URL('./.build/lambda', import.meta.url)),
    alertRulesFile: fileURLToPath(new URL('../ops/prometheus/alerts.yml', import.meta.url)),
    ...(env.WAFGEN_TABLE_PREFIX ? { tablePrefix: env.WAFGEN_TABLE_PREFIX } : {}),
    ...(env.WAFGEN_ALARM_EMAIL ? { alarmEmail: env.WAFGEN_ALARM_EMAIL } : {}),
    ...(domainName
      ? {
          domain: {
            domainName,
            hostedZoneId: hostedZoneId!,
            certificateArns: [primaryCert!, secondaryCert!],
          },
        }
      : {}),
  };
}

/** Both regional stacks; the secondary depends on the primary (its table and secret replicas). */
export function buildApp(
  settings: AppSettings,
  app = new App(),
): { app: App; primary: WafgenStack; secondary: WafgenStack } {
  const alerts = readAlertRules(settings.alertRulesFile);
  const make = (
    role: 'primary' | 'secondary',
    region: string,
    peerRegion: string,
    certificateArn?: string,
  ) => {
    const failover: FailoverDomain | undefined =
      settings.domain && certificateArn
        ? {
            domainName: settings.domain.domainName,
            hostedZoneId: settings.domain.hostedZoneId,
            certificateArn,
          }
        : undefined;
    return new WafgenStack(app, `wafgen-${role}`, {
      env: { region, ...(settings.account ? { account: settings.account } : {}) },
      crossRegionReferences: false,
      role,
      peerRegion,
      codeDir: settings.codeDir,
      alerts,
      ...(settings.tablePrefix ? { tablePrefix: settings.tablePrefix } : {}),
      ...(settings.alarmEmail ? { alarmEmail: settings.alarmEmail } : {}),
      ...(failover ? { failover } : {}),
      description: `wafgen service (${role}, ${region})`,
    });
  };
  const primary = make(
    'primary',
    settings.primaryRegion,
    settings.secondaryRegion,
    settings.domain?.certificateArns[0],
  );
  const secondary = make(
    'secondary',
    settings.secondaryRegion,
    settings.primaryRegion,
    settings.domain?.certificateArns[1],
  );
  secondary.addStackDependency(primary, 'the table and secret replicas are made by the primary');
  return { app, primary, secondary };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  buildApp(settingsFromEnv(process.env)).app.synth();
}
