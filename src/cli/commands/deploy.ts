import { type Command, Option } from 'commander';

import { InputError } from '../../core/errors.js';
import type { Config } from '../../config/index.js';
import { fromSdkRule } from '../../deploy/convert.js';
import type { AuditLog } from '../../audit/index.js';
import type { DeployResult, DeployTarget, Scope } from '../../deploy/index.js';
// The light modules, not the folder's face: the face loads the AWS SDK, and `--help` must not.
import { MAX_SOAK_MINUTES } from '../../deploy/limits.js';
import type { Store } from '../../store/index.js';
import type { Rule } from '../../waf/schema.js';
import { colors, EXIT, printable, type Io } from '../io.js';

interface DeployCliOptions {
  rule?: string;
  webAcl?: string;
  ruleGroup?: string;
  scope?: Scope;
  region?: string;
  endpoint?: string;
  priority?: string;
  createRuleGroup?: string;
  promote?: boolean;
  soak?: string;
  rollback?: boolean;
  dryRun?: boolean;
  json?: boolean;
}

function wholeNumber(value: string, option: string, min: number, max: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max)
    throw new InputError(
      `${option} must be a whole number from ${min} to ${max}, not ${JSON.stringify(value)}`,
    );
  return n;
}

/** A rule file: a Rule, a one-rule list, or `wafgen generate --json` output ({rule, report}). */
async function readRuleFile(file: string, maxBytes: number): Promise<Rule> {
  const { readJsonFile } = await import('../../core/input.js');
  const { validateRuleDocument } = await import('../../lint/validate.js');
  let value = await readJsonFile(file, maxBytes);
  if (
    value !== null &&
    typeof value === 'object' &&
    !Array.isArray(value) &&
    'rule' in value &&
    'report' in value
  )
    value = (value as { rule: unknown }).rule;
  const report = validateRuleDocument(value, { searchStringEncoding: 'text' });
  const error = report.findings.find((f) => f.severity === 'error');
  if (error) throw new InputError(`${file}: not a valid WAFv2 rule: ${error.path} ${error.message}`);
  const doc = report.document;
  if (doc?.kind === 'rule') return doc.rule;
  if (doc?.kind === 'rules' && doc.rules.length === 1) return doc.rules[0]!;
  throw new InputError(`${file}: expected one WAFv2 Rule, found ${report.kind ?? 'something else'}`);
}

const CVE_IN_NAME = /^wafgen-(CVE-\d{4}-\d{4,})$/i;

function jsonResult(result: DeployResult): string {
  return (
    JSON.stringify(
      { ...result, before: result.before.map(fromSdkRule), after: result.after.map(fromSdkRule) },
      null,
      2,
    ) + '\n'
  );
}

export function registerDeploy(
  program: Command,
  io: Io,
  config: () => Config,
  setExit: (code: number) => void,
): void {
  program
    .command('deploy')
    .description(
      'deploy a generated rule into an AWS WAF web ACL or rule group (Count first), promote it to Block, or roll it back',
    )
    .argument('[cve]', 'CVE ID whose latest stored rule to deploy, e.g. CVE-2021-44228')
    .option('--rule <file>', 'deploy this rule file instead (a Rule, or `wafgen generate --json` output)')
    .option('--web-acl <name|arn>', 'target web ACL')
    .option('--rule-group <name|arn>', 'target rule group')
    .addOption(
      new Option(
        '--scope <scope>',
        'REGIONAL, or CLOUDFRONT (always us-east-1); default from the ARN, else REGIONAL',
      ).choices(['REGIONAL', 'CLOUDFRONT']),
    )
    .option('--region <region>', 'AWS Region (default: from the ARN, else AWS_REGION / the profile)')
    .option('--endpoint <url>', 'WAFv2 endpoint URL (default: AWS_ENDPOINT_URL_WAFV2, else AWS)')
    .option('--priority <n>', 'priority for a new rule (default: after every existing rule)')
    .option(
      '--create-rule-group <wcu>',
      'create the --rule-group (by name) with this capacity if it does not exist',
    )
    .option('--promote', 'switch the deployed rule from Count to Block')
    .option(
      '--soak <minutes>',
      `with --promote: only if it has been in Count this long with no sampled match (1-${MAX_SOAK_MINUTES})`,
    )
    .option('--rollback', 'restore the previous stored version of the rule, or remove it if there is none')
    .option('--dry-run', 'print the changes and capacity, change nothing')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      `
Staged rollout: deploy puts the rule in Count; watch it, then --promote (optionally --soak 60) to
Block; --rollback goes back one version. Credentials come from the AWS SDK's usual chain
(AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, SSO, instance roles). Every change is
recorded in the store (audit events of type "deploy").

Exit status: 0 done (or nothing to do), 1 AWS or wafgen refused the change, 2 bad input.

Examples:
  wafgen deploy CVE-2021-44228 --web-acl prod-acl --region eu-west-1 --dry-run
  wafgen deploy CVE-2021-44228 --web-acl prod-acl --region eu-west-1
  wafgen deploy CVE-2021-44228 --web-acl prod-acl --region eu-west-1 --promote --soak 60
  wafgen deploy --rule rule.json --rule-group arn:aws:wafv2:us-east-1:123456789012:global/rulegroup/patches/<id>
  wafgen deploy CVE-2021-44228 --web-acl prod-acl --region eu-west-1 --rollback`,
    )
    .action(async (cve: string | undefined, opts: DeployCliOptions) => {
      const [
        { parseCveId },
        { openSeededStore },
        { Deployments },
        { DeployError, formatDeployResult, summarizeDeployResult },
      ] = await Promise.all([
        import('../../app/generate.js'),
        import('../../app/store.js'),
        import('../../app/deployments.js'),
        import('../../deploy/index.js'),
      ]);
      const cfg = config();
      if (Boolean(opts.webAcl) === Boolean(opts.ruleGroup))
        throw new InputError('give exactly one target: --web-acl NAME|ARN or --rule-group NAME|ARN');
      if (!cve && !opts.rule) throw new InputError('give a CVE ID or --rule FILE');
      if (opts.promote && opts.rollback) throw new InputError('--promote and --rollback cannot be combined');
      if (opts.soak !== undefined && !opts.promote) throw new InputError('--soak goes with --promote');
      if (opts.createRuleGroup !== undefined && (!opts.ruleGroup || opts.promote || opts.rollback))
        throw new InputError('--create-rule-group goes with a plain deploy to --rule-group');
      if (opts.priority !== undefined && (opts.promote || opts.rollback))
        throw new InputError('--priority applies to deploying a new rule');
      if (opts.endpoint !== undefined && !/^https?:\/\/[^/\s]+/.test(opts.endpoint))
        throw new InputError(`--endpoint must be an http(s) URL, not ${JSON.stringify(opts.endpoint)}`);
      let cveId = cve ? parseCveId(cve) : undefined;
      const soak =
        opts.soak === undefined ? undefined : wholeNumber(opts.soak, '--soak', 1, MAX_SOAK_MINUTES);
      const priority =
        opts.priority === undefined ? undefined : wholeNumber(opts.priority, '--priority', 0, 2 ** 31 - 1);
      const create =
        opts.createRuleGroup === undefined
          ? undefined
          : wholeNumber(opts.createRuleGroup, '--create-rule-group', 1, 5000);
      const fileRule = opts.rule ? await readRuleFile(opts.rule, cfg.WAFGEN_MAX_INPUT_BYTES) : undefined;
      if (!cveId && fileRule) {
        const m = CVE_IN_NAME.exec(fileRule.Name);
        if (m) cveId = m[1]!.toUpperCase();
      }
      const target: DeployTarget = {
        kind: opts.webAcl ? 'web-acl' : 'rule-group',
        nameOrArn: (opts.webAcl ?? opts.ruleGroup)!,
        ...(opts.scope ? { scope: opts.scope } : {}),
        ...(opts.region ? { region: opts.region } : {}),
      };
      const store: Store = await openSeededStore(cfg);
      // Every step is audited (WAFGEN_AUDIT_*: a JSON Lines spool by default), as generation is.
      let audit: AuditLog | undefined;
      try {
        const [{ openAuditLog, cliPrincipal }, { loadAuditConfig }] = await Promise.all([
          import('../../audit/index.js'),
          import('../../audit/config.js'),
        ]);
        audit = await openAuditLog(loadAuditConfig(process.env, { dataDir: cfg.dataDir }));
        const ctx = { principal: cliPrincipal() };
        const deployments = new Deployments(store, {
          audit,
          ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
        });
        const latest = cveId && !fileRule ? await store.rules.latest(cveId) : undefined;
        const name = fileRule?.Name ?? (latest?.rule as Rule | undefined)?.Name;
        const step = {
          target,
          ...(name ? { ruleName: name } : {}),
          ...(cveId ? { cveId } : {}),
          ...(opts.dryRun ? { dryRun: true } : {}),
        };
        let result: DeployResult;
        try {
          if (opts.promote) {
            result = await deployments.promote(
              { ...step, ...(soak !== undefined ? { soakMinutes: soak } : {}) },
              ctx,
            );
          } else if (opts.rollback) {
            result = await deployments.rollback(step, ctx);
          } else {
            result = await deployments.deploy(
              {
                target,
                ...(cveId ? { cveId } : {}),
                ...(fileRule ? { rule: fileRule } : {}),
                ...(priority !== undefined ? { priority } : {}),
                ...(create !== undefined ? { createCapacity: create } : {}),
                ...(opts.dryRun ? { dryRun: true } : {}),
              },
              ctx,
            );
          }
        } catch (e) {
          if (!(e instanceof DeployError)) throw e;
          if (opts.json)
            io.out(
              JSON.stringify(
                {
                  error: {
                    code: e.code,
                    message: e.message,
                    ...(e.awsError ? { awsError: e.awsError } : {}),
                    ...e.details,
                  },
                },
                null,
                2,
              ) + '\n',
            );
          io.err(`wafgen: ${printable(e.message)}\n`);
          setExit(EXIT.failed);
          return;
        }
        if (opts.json) {
          io.out(jsonResult(result));
        } else {
          const c = colors(io);
          io.out(formatDeployResult(result, { color: c }));
          io.out(`${summarizeDeployResult(result)}\n`);
          if (result.operation === 'deploy' && result.action === 'Count' && result.outcome === 'updated')
            io.err(
              c.dim(
                `next: watch it in Count, then \`wafgen deploy ${cveId ?? `--rule ${opts.rule}`} --${target.kind} ${target.nameOrArn} --promote --soak 60\`\n`,
              ),
            );
        }
        setExit(EXIT.ok);
      } finally {
        await audit?.close().catch(() => {});
        await store.close();
      }
    });
}
