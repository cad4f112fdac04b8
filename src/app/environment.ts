// Every environment variable wafgen reads, validated together at start-up: the core settings
// (./index.ts) and each subsystem's own Zod schema (LLM providers, live look-up, audit sinks, the
// service). One bad variable anywhere stops the command with a message naming every bad variable;
// values are never echoed (they may be secrets). Subsystems still parse their part when they start;
// this is the one place that checks them all up front.
import { loadAuditConfig } from '../audit/config.js';
import { loadLlmConfig } from '../llm/config.js';
import { loadSecretsConfig } from '../secrets/config.js';
import { loadLiveConfig } from '../vulns/live/config.js';
import { ConfigError, loadConfig, type Config } from '../config/index.js';

const problemsOf = (e: unknown): string[] => {
  const problems = (e as { problems?: unknown }).problems;
  if (Array.isArray(problems)) return problems.map(String);
  return [e instanceof Error ? e.message.replace(/^invalid [\w ]*configuration: /i, '') : String(e)];
};

export function loadEnvironment(env: NodeJS.ProcessEnv = process.env): Config {
  const problems: string[] = [];
  let config: Config | undefined;
  try {
    config = loadConfig(env);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    problems.push(...e.problems);
  }
  const dataDir = config?.dataDir ?? '.';
  const subsystems: (() => unknown)[] = [
    () => loadLlmConfig(env),
    () => loadLiveConfig(env, { dataDir }),
    () => loadAuditConfig(env, { dataDir }),
    () => loadSecretsConfig(env),
  ];
  for (const load of subsystems) {
    try {
      load();
    } catch (e) {
      problems.push(...problemsOf(e));
    }
  }
  if (problems.length > 0 || !config) throw new ConfigError(problems);
  return config;
}
