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

/** Exit codes of the command-line contract. */
export const EXIT = { ok: 0, failed: 1, badInput: 2 } as const;
