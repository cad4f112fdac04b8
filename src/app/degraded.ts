/**
 * @module Honest fallback in the rule cache: a rule the built-in engine wrote because every LLM
 * provider failed (report `degraded: true`, `engine: builtin`) is not an LLM rule, so it is never
 * cached under the LLM engine's key (where it would be served as one for a day). It goes under a
 * key of its own, `<LLM key>:degraded`, for a few minutes: callers in that window get it at once
 * instead of waiting on providers that just failed, and the first generation after it asks the
 * providers again; once one answers, its rule takes the LLM key and the degraded entry is dropped.
 */
import { VERSION } from '../core/version.js';

/** How long a degraded rule is served before the providers are asked again. */
export const DEGRADED_TTL_MS = 5 * 60_000;

/** The cache key of the degraded rule that stands in for the LLM rule under `key`. */
export function degradedKey(key: string): string {
  return `${key}:degraded`;
}

/** Whether a generation report says the fallback engine wrote the rule. */
export function isDegraded(report: unknown): boolean {
  return (report as { degraded?: unknown } | null)?.degraded === true;
}

/** The engine label of a degraded rule: the engine that wrote it, e.g. `builtin@0.1.0`. */
export function degradedEngine(report: { engine: string }): string {
  return `${report.engine}@${VERSION}`;
}
