/** @module Where the CLI writes (commands take an Io so tests can run them in-process), how input text is shown, and the exit codes. */
import pc from 'picocolors';

export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** Colours only when stderr is a terminal and NO_COLOR is unset. */
  color: boolean;
  /** Progress lines only when stderr is a terminal (absent: as `color`); never with --quiet. */
  progress?: boolean;
  /** --quiet: stderr carries errors and nothing else (no reports, notes or progress). */
  quiet?: boolean;
  /** --verbose: also where the configuration came from, each step, and an internal error's stack. */
  verbose?: boolean;
}

export const processIo: Io = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  color: Boolean(process.stderr.isTTY) && !process.env.NO_COLOR,
  progress: Boolean(process.stderr.isTTY),
};

/** A line for people on stderr that is not an error (a report, a note): silent with --quiet. */
export function note(io: Io, text: string): void {
  if (!io.quiet) io.err(text);
}

/** Whether to draw progress on stderr: a terminal, and not --quiet. */
export function showsProgress(io: Io): boolean {
  return !io.quiet && (io.progress ?? io.color);
}

export function colors(io: Io) {
  return pc.createColors(io.color);
}

let pipesGuarded = false;

/**
 * A closed pipe ends the process quietly: `wafgen test ... | head` exits 0 when head has read
 * enough (without this Node throws EPIPE from the next write, with a stack trace). Another write
 * error on stdout (a full disk) is one line on stderr and exit 1. Installed once, for the real
 * process streams only.
 */
export function endQuietlyOnClosedPipes(): void {
  if (pipesGuarded) return;
  pipesGuarded = true;
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(EXIT.ok);
    process.stderr.write(`wafgen: cannot write to stdout: ${e.code ?? e.message}\n`);
    process.exit(EXIT.failed);
  });
  process.stderr.on('error', (e: NodeJS.ErrnoException) => {
    process.exit(e.code === 'EPIPE' ? EXIT.ok : EXIT.failed);
  });
}

/**
 * Controls and invisible formatting characters: C0 (tab and line feed included), DEL, C1, bidi
 * embeddings, overrides, isolates and marks, zero-width characters, the BOM, and the Unicode line
 * and paragraph separators. Shown raw on a terminal they move the cursor, retitle the window, hide
 * or reorder text.
 */
// eslint-disable-next-line no-control-regex
const UNPRINTABLE = /[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;
const UNPRINTABLE_BUT_LINES =
  // eslint-disable-next-line no-control-regex
  /[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;

function escapeChar(ch: string): string {
  const code = ch.charCodeAt(0);
  return code < 0x100
    ? `\\x${code.toString(16).padStart(2, '0')}`
    : `\\u{${code.toString(16).padStart(4, '0')}}`;
}

/**
 * Text that came from input (request ids and values, file names, rule names, records, error
 * messages), made safe to print on a terminal: every control or invisible formatting character
 * becomes a visible `\xHH` or `\u{HHHH}` escape; everything else, backslashes included, is
 * shown as it is. `lines: true` keeps line feeds and tabs (a record's description). One pass of a
 * character class: linear in the text's length.
 */
export function printable(text: string, opts: { lines?: boolean } = {}): string {
  const re = opts.lines ? UNPRINTABLE_BUT_LINES : UNPRINTABLE;
  re.lastIndex = 0;
  return re.test(text) ? text.replace(re, escapeChar) : text;
}

/** C1 controls, DEL and the invisible formatting characters JSON.stringify leaves raw. */
const JSON_UNPRINTABLE = /[\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;

/**
 * JSON text (as JSON.stringify writes it: C0 controls already escaped) with the characters it
 * leaves raw (DEL, C1 controls, bidi and zero-width characters) written as \uHHHH escapes too:
 * the same JSON value, safe on a terminal. Such characters only occur inside JSON strings, where
 * the escape means the same character, so a file written from it reads back unchanged.
 */
export function printableJsonText(json: string): string {
  JSON_UNPRINTABLE.lastIndex = 0;
  return JSON_UNPRINTABLE.test(json)
    ? json.replace(JSON_UNPRINTABLE, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`)
    : json;
}

/** JSON.stringify(value, null, 2), safe on a terminal ({@link printableJsonText}). */
export function printableJson(value: unknown): string {
  return printableJsonText(JSON.stringify(value, null, 2));
}

/**
 * Exit codes of the command-line contract, the one table (`wafgen --help` prints {@link EXIT_HELP},
 * the README says the same): 0 success (generate, batch: every rule proven); 1 a rule failed its
 * checks, a test's expectation was not met, or something went wrong; 2 bad input (usage, an
 * unreadable or invalid file, a request that could not be read); 3 no rule could be written (the
 * engine recognised too little); 4 a rule was written but is untested against any exploit request;
 * 5 a backend (PostgreSQL, Redis, the embedded store) cannot be reached or is busy: nothing was
 * done, the same command may succeed later.
 */
export const EXIT = { ok: 0, failed: 1, badInput: 2, noRule: 3, untested: 4, unavailable: 5 } as const;

/** The exit codes, as `wafgen --help` ends. */
export const EXIT_HELP = `Exit status:
  0  success (generate, batch: every rule proven)
  1  failure: a rule failed its checks, a test's expectation was not met, records could not be
     imported beside others that were, AWS refused a deployment; or an internal error
  2  bad input: usage, an unreadable or invalid file, a request that could not be read
     (test --skip-invalid: reported and skipped); one line on stderr, never a stack trace
  3  generate, batch: no rule could be written (the engine recognised too little)
  4  generate, batch: a rule was written but is untested against any exploit request
  5  a backend cannot be reached: "cannot reach PostgreSQL at host:port (reason)" (or Redis, or
     the embedded store is in use by another process); nothing was done, try again later`;

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
  5  the store cannot be reached ("cannot reach PostgreSQL at host:port (reason)"); nothing is generated
Over several CVEs the most serious outcome wins: 1, then 3, then 4, then 0.`;
