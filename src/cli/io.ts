// Where the CLI writes. Commands take an Io so tests can run them in-process and read the output.
import pc from 'picocolors';

export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** Colours and progress only when stderr is a terminal and NO_COLOR is unset. */
  color: boolean;
}

export const processIo: Io = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  color: Boolean(process.stderr.isTTY) && !process.env.NO_COLOR,
};

export function colors(io: Io) {
  return pc.createColors(io.color);
}

/**
 * Exit codes of the command-line contract, the one table (`--help` and the README say the same):
 * 0 every rule proven (or, for other commands, success); 1 a rule failed its checks (or a test's
 * expectation was not met, or something went wrong); 2 bad input; 3 no rule could be written (the
 * engine recognised too little); 4 a rule was written but is untested against any exploit request.
 */
export const EXIT = { ok: 0, failed: 1, badInput: 2, noRule: 3, untested: 4 } as const;

/** What one CVE of `generate` or `batch` came to. */
export type GenerationOutcome = 'proven' | 'untested' | 'failed' | 'no-rule';

/**
 * The exit code of a run over several CVEs: the most serious outcome wins, failed (1) over no rule
 * (3) over untested (4) over proven (0).
 */
export function exitOf(outcomes: Iterable<GenerationOutcome>): number {
  const seen = new Set(outcomes);
  if (seen.has('failed')) return EXIT.failed;
  if (seen.has('no-rule')) return EXIT.noRule;
  if (seen.has('untested')) return EXIT.untested;
  return EXIT.ok;
}

/** The exit codes of `generate` and `batch`, for their --help. */
export const GENERATION_EXIT_HELP = `Exit status:
  0  every rule is proven: it blocked every exploit request tested (at least one), at least 90% of
     their evasion variants, and no benign request
  1  a rule failed its checks (batch: also a CVE that could not be processed)
  2  bad input (one line on stderr; nothing is generated)
  3  no rule could be written: the engine recognised too little (the message says what it needs)
  4  a rule was written but is untested: there was no exploit request to test it against
Over several CVEs the most serious outcome wins: 1, then 3, then 4, then 0.`;
