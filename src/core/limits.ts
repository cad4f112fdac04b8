/**
 * @module wafgen's input limits, defined once: how many bytes it reads from a file, stdin, an API
 * body, a webhook payload or an import file, how deep JSON may nest, how many rules, statements and
 * request entries one input may hold. Every boundary (CLI, library, API, importers) checks against
 * this table while reading where it can (`read-limited.ts` cuts a stream at the limit + 1 byte),
 * and before any recursive consumer sees the value (JSON depth is scanned on the text, or walked
 * iteratively on a value handed in by a program). Over a limit, {@link InputLimitError}: the CLI prints its one-line
 * message and exits 2, the API answers {@link InputLimitError.status} (413 for bytes, 400 otherwise)
 * with `{ limit, max }` from {@link InputLimitError.toJSON}.
 *
 * The AWS WAF service quotas a rule document must meet (SearchString ≤ 200 bytes, regex ≤ 200
 * characters, ≤ 10 transformations, 5,000 WCU…) are not input limits: they live with the WAFv2
 * language in `waf/constraints.ts` and `waf/capacity.ts` and are reported as findings, like any
 * other reason AWS would refuse the document.
 */
import { InputError } from './errors.js';

export interface InputLimit {
  /** The default (the configured value may differ where `env` names a variable). */
  readonly value: number;
  /** What is counted, for people (`--help`, the README, error messages). */
  readonly what: string;
  /** The environment variable that sets it, when it can be set. */
  readonly env?: string;
  /** HTTP status the API answers when it is exceeded. */
  readonly status: 400 | 413;
}

const MiB = 1024 * 1024;

/**
 * Every input limit by name; the name is what errors quote (`input exceeds WAFGEN limit
 * json-depth=256`). How the values were chosen:
 * - `json-depth` 256: a wrapped web ACL puts a rule's top statement at JSON depth 5 and each
 *   And/Or level adds 3 (`{"AndStatement":{"Statements":[{…`), so the 64 statement levels allowed
 *   need about 205; 256 leaves room and keeps the recursive schema parse far from the stack's end
 *   (Zod overflowed near 1,000 levels on Node 20's default stack).
 * - `statement-depth` 64 and `statements-per-rule` 10,000: what the evaluator always refused
 *   (`evaluator/compile.ts`); a rule AWS accepts is far smaller (every leaf statement costs at least
 *   1 WCU and a rule group or web ACL holds at most 5,000).
 * - `rules` 10,000: twice what a 5,000-WCU web ACL could hold (every rule costs at least 1 WCU), so
 *   an over-full document is reported as a capacity error, not refused unread.
 * - `json-values` 2,000,000: more values than a 10 MB document can hold in practice; it bounds the
 *   walk over a value a program hands in (shared sub-objects would otherwise multiply the work).
 */
export const INPUT_LIMITS = {
  'input-bytes': {
    value: 10 * MiB,
    what: 'bytes of one file or stdin the CLI and library read (rule documents, request files, lists)',
    env: 'WAFGEN_MAX_INPUT_BYTES',
    status: 413,
  },
  'body-bytes': {
    value: 1 * MiB,
    what: 'bytes of one HTTP API request body',
    env: 'WAFGEN_MAX_BODY_BYTES',
    status: 413,
  },
  'webhook-bytes': {
    value: 1 * MiB,
    what: 'bytes of one webhook payload',
    status: 413,
  },
  'import-bytes': {
    value: 256 * MiB,
    what: 'bytes of one file `wafgen import` reads (NVD and CVE dumps are large)',
    status: 413,
  },
  'json-depth': {
    value: 256,
    what: 'levels of nested arrays and objects in a JSON document',
    status: 400,
  },
  'json-values': {
    value: 2_000_000,
    what: 'values (objects, arrays, strings, numbers…) in a JSON document handed in as a value',
    status: 400,
  },
  'statement-depth': {
    value: 64,
    what: "levels of statements nested below a rule's top-level statement",
    status: 400,
  },
  'statements-per-rule': {
    value: 10_000,
    what: 'statements in one rule (And/Or/Not and scope-down statements included)',
    status: 400,
  },
  rules: {
    value: 10_000,
    what: 'rules in one rule document',
    status: 400,
  },
  'request-entries': {
    value: 100_000,
    what: 'requests (or unreadable entries) in one request file',
    status: 400,
  },
} as const satisfies Record<string, InputLimit>;

export type LimitName = keyof typeof INPUT_LIMITS;

/** The default value of a limit. */
export const limitOf = (name: LimitName): number => INPUT_LIMITS[name].value;

/** An input over one of wafgen's limits. Extends InputError: exit 2 in the CLI, 4xx in the API. */
export class InputLimitError extends InputError {
  override name = 'InputLimitError';
  readonly limit: LimitName;
  /** The limit in force (the configured value, for the limits that can be set). */
  readonly max: number;
  readonly status: 400 | 413;
  /**
   * @param detail what was found, for people: `nesting reaches 257 levels at line 1, column 300`.
   * @param source the input's name (a file, `stdin`, `request body`), put first in the message.
   */
  constructor(limit: LimitName, detail: string, options: { max?: number; source?: string } = {}) {
    const max = options.max ?? INPUT_LIMITS[limit].value;
    const def: InputLimit = INPUT_LIMITS[limit];
    const raise = def.env ? `; set ${def.env} to raise it` : '';
    super(
      `${options.source ? `${options.source}: ` : ''}input exceeds WAFGEN limit ${limit}=${max} (${detail}${raise})`,
    );
    this.limit = limit;
    this.max = max;
    this.status = def.status;
  }

  /** The fields an API error body carries besides the message. */
  toJSON(): { code: 'input_limit'; limit: LimitName; max: number; message: string } {
    return { code: 'input_limit', limit: this.limit, max: this.max, message: this.message };
  }
}

/** The InputLimitError behind `err` (itself, or one in its `cause` chain), if any. */
export function inputLimitErrorOf(err: unknown): InputLimitError | undefined {
  for (let e = err, i = 0; e && i < 8; e = (e as { cause?: unknown }).cause, i++) {
    if (e instanceof InputLimitError) return e;
  }
  return undefined;
}

// --- bytes -------------------------------------------------------------------------------------------

/** A byte count for people: `10.0 MiB`, `3.2 KiB`, `512 bytes`. */
export const formatBytes = (n: number): string =>
  n >= MiB ? `${(n / MiB).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} bytes`;

export interface ReadLimitOptions {
  /** Which limit the byte count is held to (default `input-bytes`). */
  limit?: LimitName;
  /** The limit in force, when configured (default: the limit's default). */
  max?: number;
  /** The input's name in the error. */
  source?: string;
}

/** Throw when a size known in advance (a regular file's, a Content-Length) is over the limit. */
export function checkByteCount(size: number, options: ReadLimitOptions = {}): void {
  const limit = options.limit ?? 'input-bytes';
  const max = options.max ?? INPUT_LIMITS[limit].value;
  if (size > max)
    throw new InputLimitError(limit, `it is ${formatBytes(size)}`, {
      max,
      ...(options.source ? { source: options.source } : {}),
    });
}

// --- JSON nesting ------------------------------------------------------------------------------------

/**
 * Where JSON text first nests deeper than `maxDepth` (arrays and objects, outside strings), or -1.
 * A linear scan of the text that builds nothing, so it runs before JSON.parse and before any
 * recursive consumer of the parsed value; it assumes nothing about validity (the parser judges that).
 * Hand-written because no parser offers a depth cap (JSON.parse has none; V8's is iterative, so
 * it is the consumers — Zod, our own walkers — that overflow).
 */
export function jsonDepthOffset(text: string, maxDepth: number = limitOf('json-depth')): number {
  // Nesting can never go deeper than the number of opening brackets, and most documents hold far
  // fewer than the limit: counting them with indexOf (native) skips the walk below. On a 2 KB rule
  // (the API validate body: 2.8-3.8 -> 0.3 µs per scan, a tsx micro-loop over test/fixtures/rules).
  let opens = 0;
  for (let at = text.indexOf('{'); at >= 0 && opens <= maxDepth; at = text.indexOf('{', at + 1)) opens++;
  for (let at = text.indexOf('['); at >= 0 && opens <= maxDepth; at = text.indexOf('[', at + 1)) opens++;
  if (opens <= maxDepth) return -1;
  let depth = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // a string: jump to its closing quote (a quote preceded by an even run of backslashes)
      for (;;) {
        const q = text.indexOf('"', i + 1);
        if (q < 0) return -1; // unterminated: the parser reports it
        let bs = 0;
        while (text.charCodeAt(q - 1 - bs) === 0x5c) bs++;
        i = q;
        if (bs % 2 === 0) break;
      }
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > maxDepth) return i;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return -1;
}

/** Line and column (1-based) of a character offset. */
function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    start = i + 1;
  }
  return { line, column: offset - start + 1 };
}

/** Throw when JSON text nests deeper than the `json-depth` limit. */
export function checkJsonTextDepth(text: string, source?: string, maxDepth = limitOf('json-depth')): void {
  const at = jsonDepthOffset(text, maxDepth);
  if (at < 0) return;
  const { line, column } = lineColumn(text, at);
  throw new InputLimitError('json-depth', `nesting goes deeper at line ${line}, column ${column}`, {
    max: maxDepth,
    ...(source ? { source } : {}),
  });
}

/** Where the walk is: the node's key in its parent, and the parent. Paths are built only for errors. */
interface JsonWalkContext<S> {
  /** Depth of the node: 1 for the root object or array (as JSON text counts it), 0 for a scalar root. */
  depth: number;
  /** What `enter` returned for the parent (undefined at the root). */
  state: S | undefined;
  /** The node's path, `$.Rules[3].Statement`, computed on demand. */
  path(): string;
  /** A function that gives this node's path later (the context itself moves on to the next node). */
  pin(): () => string;
}

export interface JsonWalkOptions<S> {
  source?: string;
  maxDepth?: number;
  maxValues?: number;
  /**
   * Called for every array or object before its children, with its key in the parent (undefined at
   * the root); returns the state its children see. Throw (an InputLimitError) to stop the walk.
   */
  enter?: (key: string | number | undefined, node: object, ctx: JsonWalkContext<S>) => S | undefined;
}

interface Frame<S> {
  node: unknown;
  key: string | number | undefined;
  up: Frame<S> | undefined;
  depth: number;
  state: S | undefined;
}

function framePath<S>(frame: Frame<S>): string {
  const keys: (string | number)[] = [];
  for (let f: Frame<S> | undefined = frame; f && f.key !== undefined; f = f.up) keys.push(f.key);
  let out = '$';
  for (const k of keys.reverse())
    out +=
      typeof k === 'number' ? `[${k}]` : /^[A-Za-z_$][\w$]*$/.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`;
  return out;
}

/** A long path, shortened in the middle for a one-line message. */
export function shortPath(path: string, max = 120): string {
  return path.length <= max ? path : `${path.slice(0, max / 2 - 1)}…${path.slice(-(max / 2 - 1))}`;
}

/**
 * Walk a value (parsed JSON, or an object a program hands in) without recursion, holding it to the
 * `json-depth` and `json-values` limits; `enter` lets a caller count what it needs on the way (rules,
 * statements). Cycles cannot loop: they nest past the depth limit.
 */
export function walkJsonValue<S = never>(value: unknown, options: JsonWalkOptions<S> = {}): void {
  const maxDepth = options.maxDepth ?? limitOf('json-depth');
  const maxValues = options.maxValues ?? limitOf('json-values');
  const src = options.source ? { source: options.source } : {};
  if (value === null || typeof value !== 'object') return;
  const enter = options.enter;
  // Only objects and arrays get a frame (scalars are counted, not visited), and one context object
  // serves every call: the walk allocates one small frame per container, nothing per scalar.
  let current: Frame<S> = { node: value, key: undefined, up: undefined, depth: 1, state: undefined };
  const ctx: JsonWalkContext<S> = {
    depth: 1,
    state: undefined,
    path: () => framePath(current),
    pin: () => {
      const frame = current;
      return () => framePath(frame);
    },
  };
  const stack: Frame<S>[] = [current];
  let values = 1;
  const tooMany = () =>
    new InputLimitError('json-values', `more than ${maxValues} values`, { max: maxValues, ...src });
  while (stack.length > 0) {
    const frame = stack.pop()!;
    current = frame;
    const node = frame.node as object;
    if (frame.depth > maxDepth)
      throw new InputLimitError('json-depth', `nesting goes deeper at ${shortPath(framePath(frame))}`, {
        max: maxDepth,
        ...src,
      });
    if (enter) {
      ctx.depth = frame.depth;
      ctx.state = frame.up?.state;
      frame.state = enter(frame.key, node, ctx);
    }
    const depth = frame.depth + 1;
    if (Array.isArray(node)) {
      if ((values += node.length) > maxValues) throw tooMany();
      for (let i = node.length - 1; i >= 0; i--) {
        const child: unknown = node[i];
        if (child !== null && typeof child === 'object')
          stack.push({ node: child, key: i, up: frame, depth, state: undefined });
      }
    } else {
      const keys = Object.keys(node);
      if ((values += keys.length) > maxValues) throw tooMany();
      for (let i = keys.length - 1; i >= 0; i--) {
        const k = keys[i]!;
        const child = (node as Record<string, unknown>)[k];
        if (child !== null && typeof child === 'object')
          stack.push({ node: child, key: k, up: frame, depth, state: undefined });
      }
    }
  }
}
