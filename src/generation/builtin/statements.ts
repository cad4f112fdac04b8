// Turning knowledge (components, signatures, endpoints, tokens) into WAFv2 statements.
import type { FieldToMatch, Statement, TextTransformationType } from '../../waf/model/shapes.generated.js';
import { PROXY_HEADERS, type Component, type Signature } from '../knowledge/index.js';

const tt = (types: readonly TextTransformationType[]) => types.map((Type, Priority) => ({ Priority, Type }));

export interface FieldOptions {
  /** Oversize choice for body/headers/cookies: MATCH when scoped to an endpoint, CONTINUE when not. */
  oversize: 'MATCH' | 'CONTINUE';
}

function fieldFor(component: Component, detector: boolean, { oversize }: FieldOptions): FieldToMatch {
  switch (component) {
    case 'path':
      return { UriPath: {} };
    case 'query':
      return { QueryString: {} };
    case 'args':
      // Detectors judge one value at a time; regexes read the whole query string (cheaper, +0 WCU).
      return detector ? { AllQueryArguments: {} } : { QueryString: {} };
    case 'body':
      return { Body: { OversizeHandling: oversize } };
    case 'headers':
      return { Headers: { MatchPattern: { All: {} }, MatchScope: 'ALL', OversizeHandling: oversize } };
    case 'cookies':
      return { Cookies: { MatchPattern: { All: {} }, MatchScope: 'VALUE', OversizeHandling: oversize } };
    case 'proxy-headers':
      return {
        Headers: {
          MatchPattern: { IncludedHeaders: [...PROXY_HEADERS] },
          MatchScope: 'VALUE',
          OversizeHandling: oversize,
        },
      };
  }
}

const dedupeComponents = (components: readonly Component[], detector: boolean): Component[] => {
  // For regexes, args and query are the same field.
  const out: Component[] = [];
  for (const c of components) {
    const normalized: Component = !detector && c === 'args' ? 'query' : c;
    if (!out.includes(normalized)) out.push(normalized);
  }
  return out;
};

/** One statement per (signature regex or detector, component). */
export function signatureStatements(
  signature: Signature,
  components: readonly Component[],
  options: FieldOptions,
): Statement[] {
  const out: Statement[] = [];
  const detector = signature.detector !== undefined;
  for (const component of dedupeComponents(components, detector)) {
    if (signature.components && !signature.components.includes(component)) continue;
    const transforms = tt(signature.transforms[component] ?? signature.transforms.default);
    const FieldToMatch = fieldFor(component, detector, options);
    if (signature.detector === 'sqli')
      out.push({ SqliMatchStatement: { FieldToMatch, TextTransformations: transforms } });
    else if (signature.detector === 'xss')
      out.push({ XssMatchStatement: { FieldToMatch, TextTransformations: transforms } });
    for (const RegexString of signature.regexes ?? []) {
      out.push({ RegexMatchStatement: { RegexString, FieldToMatch, TextTransformations: transforms } });
    }
  }
  return out;
}

/**
 * The top-level alternatives of a regex (`a|(?:b|c)|[|]` → `a`, `(?:b|c)`, `[|]`): split outside
 * groups, classes and escapes, so each still means what it meant inside the whole.
 */
export function splitAlternatives(regex: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let inClass = false;
  let start = 0;
  for (let i = 0; i < regex.length; i++) {
    const c = regex[i];
    if (c === '\\') i++;
    else if (inClass) inClass = c !== ']';
    else if (c === '[') {
      inClass = true;
      if (regex[i + 1] === ']' || (regex[i + 1] === '^' && regex[i + 2] === ']'))
        i += regex[i + 1] === '^' ? 2 : 1;
    } else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === '|' && depth === 0) {
      out.push(regex.slice(start, i));
      start = i + 1;
    }
  }
  out.push(regex.slice(start));
  return out.filter((a) => a.length > 0);
}

/** AWS's quota on a RegexString (the API model allows 512). */
const MAX_REGEX = 200;

/**
 * OR-ed regex statements on the same field with the same transformations, packed into as few
 * statements as fit the 200-character quota (`a|b` finds what `a` or `b` finds: the search is
 * unanchored and alternation binds loosest). Each statement costs its transformations again (10 WCU
 * each), so packing five regexes on the body into two saves ~120 WCU and matches the same requests.
 */
function packRegexes(statements: readonly Statement[]): Statement[] {
  const out: Statement[] = [];
  const open = new Map<string, { RegexMatchStatement: NonNullable<Statement['RegexMatchStatement']> }>();
  for (const s of statements) {
    const r = s.RegexMatchStatement;
    if (!r) {
      out.push(s);
      continue;
    }
    const key = JSON.stringify([r.FieldToMatch, r.TextTransformations]);
    const current = open.get(key);
    if (current && current.RegexMatchStatement.RegexString.length + 1 + r.RegexString.length <= MAX_REGEX) {
      current.RegexMatchStatement.RegexString += `|${r.RegexString}`;
      continue;
    }
    const copy = { RegexMatchStatement: { ...r } };
    open.set(key, copy);
    out.push(copy);
  }
  return out;
}

export function anyOf(statements: readonly Statement[]): Statement {
  if (statements.length === 0) throw new Error('anyOf needs at least one statement');
  const packed = packRegexes(statements);
  return packed.length === 1 ? packed[0]! : { OrStatement: { Statements: packed } };
}

export function allOf(statements: readonly Statement[]): Statement {
  if (statements.length === 0) throw new Error('allOf needs at least one statement');
  return statements.length === 1 ? statements[0]! : { AndStatement: { Statements: [...statements] } };
}

// AWS's URL decoding turns `+` into a space, so a literal `+` in a path segment matches either.
const escapeRegex = (s: string): string =>
  s.replace(/[.*+?^${}()|[\]\\]/g, (c) => (c === '+' ? '[+ ]' : `\\${c}`));

/**
 * The vulnerable endpoint, tolerant of the path tricks attackers use to dodge a literal match:
 * repeated slashes and `/./` between segments, case, and percent-encoding (decoded first). `..`
 * is left alone: a traversal through the endpoint is still a request to it.
 */
export function endpointStatement(endpoint: string): Statement | undefined {
  const segments = endpoint.toLowerCase().split('/').filter(Boolean);
  // Between segments: repeated slashes or backslashes, `/./`; after one: a path parameter (`;x=y`).
  const sep = '[/\\\\]+(?:\\.[/\\\\]+)*';
  const seg = (s: string) => (s === '*' ? '[^/\\\\;]+' : escapeRegex(s)) + '(?:;[^/\\\\]*)?';
  const end = endpoint.endsWith('/') ? '/' : '(?:[/\\\\;.]|$)';
  const build = (from: number) => sep + segments.slice(from).map(seg).join(sep) + end;
  // Too long for the quota: drop leading segments (the tail names the handler; the search is unanchored).
  let from = 0;
  while (from < segments.length - 1 && build(from).length > MAX_REGEX) from++;
  const RegexString = build(from);
  if (RegexString.length > MAX_REGEX) return undefined;
  return {
    RegexMatchStatement: {
      RegexString,
      FieldToMatch: { UriPath: {} },
      // Decoded twice: a double-encoded path still names the endpoint for servers that decode twice.
      TextTransformations: tt(['URL_DECODE_UNI', 'URL_DECODE_UNI', 'LOWERCASE']),
    },
  };
}

/** A literal token, decoded and lower-cased, anywhere in a component. */
export function tokenStatement(token: string, component: Component, options: FieldOptions): Statement {
  const transforms: TextTransformationType[] =
    component === 'headers' || component === 'cookies'
      ? ['URL_DECODE_UNI', 'LOWERCASE']
      : ['URL_DECODE_UNI', 'URL_DECODE_UNI', 'LOWERCASE'];
  return {
    ByteMatchStatement: {
      SearchString: token.toLowerCase(),
      FieldToMatch: component === 'args' ? { QueryString: {} } : fieldFor(component, false, options),
      PositionalConstraint: 'CONTAINS',
      TextTransformations: tt(transforms),
    },
  };
}

/** A header that must be present (by name). */
export function headerNameStatement(name: string): Statement {
  return {
    ByteMatchStatement: {
      SearchString: name.toLowerCase(),
      FieldToMatch: {
        Headers: {
          MatchPattern: { IncludedHeaders: [name.toLowerCase()] },
          MatchScope: 'KEY',
          OversizeHandling: 'MATCH',
        },
      },
      PositionalConstraint: 'EXACTLY',
      TextTransformations: tt(['LOWERCASE']),
    },
  };
}
