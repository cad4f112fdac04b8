// FieldToMatch extraction, as AWS documents it: what each component contains, what is raw (nothing
// is decoded unless a transformation says so), which parts multi-valued components inspect, match
// scopes, inspection limits with oversize handling, and JSON body parsing with its fallbacks.
import type { FieldToMatch, PreParseTextTransformation } from '../waf/model/shapes.generated.js';
// asciiLower has a native fast path: header names were lower-cased twice per header per request,
// 5% of bench:engine's CPU with the regex-replace it had.
import {
  type HttpRequest,
  asciiLower,
  cookiesOf,
  headerOrder,
  headerValues,
  queryArgs,
} from '../requests/model.js';
import { applyPreParseTransformations } from './transforms/index.js';
import { parseJsonBody, underPaths } from './json-body.js';
import { bodyLimitOf, HEADER_LIMIT_BYTES, HEADER_LIMIT_COUNT, type EvaluateOptions } from './options.js';

interface Inspected {
  /** Where the value came from, for traces: `header:user-agent`, `query-arg:id`, `json:/a/b`... */
  where: string;
  value: string;
}

export type FieldValues =
  | { kind: 'values'; items: Inspected[] }
  /** The outcome is fixed without inspection: oversize MATCH/NO_MATCH, a fallback behaviour, a missing component. */
  | { kind: 'fixed'; matched: boolean; reason: string };

const values = (items: Inspected[]): FieldValues => ({ kind: 'values', items });
const fixed = (matched: boolean, reason: string): FieldValues => ({ kind: 'fixed', matched, reason });
const missing = (what: string): FieldValues => fixed(false, `the request has no ${what}`);

type Scope = 'ALL' | 'KEY' | 'VALUE';
function scoped(pairs: readonly [string, string][], scope: Scope, kind: string): Inspected[] {
  const out: Inspected[] = [];
  for (const [k, v] of pairs) {
    if (scope !== 'VALUE') out.push({ where: `${kind}-name:${k}`, value: k });
    if (scope !== 'KEY') out.push({ where: `${kind}:${k}`, value: v });
  }
  return out;
}

/** First 200 entries within the first 8 KB; `oversize` when either limit cut something off. */
function limited(pairs: readonly [string, string][], overhead: number) {
  let bytes = 0;
  for (let i = 0; i < pairs.length; i++) {
    if (i >= HEADER_LIMIT_COUNT) return { kept: pairs.slice(0, i), oversize: true };
    const [k, v] = pairs[i]!;
    bytes += k.length + v.length + overhead;
    if (bytes > HEADER_LIMIT_BYTES) return { kept: pairs.slice(0, i), oversize: true };
  }
  return { kept: pairs, oversize: false };
}

function oversized(handling: string | undefined, what: string): FieldValues | undefined {
  if (handling === 'MATCH')
    return fixed(true, `${what} exceeds the inspection limit (OversizeHandling MATCH)`);
  if (handling === 'NO_MATCH')
    return fixed(false, `${what} exceeds the inspection limit (OversizeHandling NO_MATCH)`);
  return undefined; // CONTINUE: inspect what fits
}

function queryString(req: HttpRequest, preParse: readonly PreParseTextTransformation[] | undefined): string {
  return preParse && preParse.length > 0 ? applyPreParseTransformations(req.query, preParse) : req.query;
}

export function extractField(
  field: FieldToMatch,
  req: HttpRequest,
  options: EvaluateOptions,
  preParse?: readonly PreParseTextTransformation[],
): FieldValues {
  if (field.UriPath) return values([{ where: 'uri-path', value: req.path }]);
  if (field.QueryString) return values([{ where: 'query-string', value: req.query }]);
  if (field.Method) return values([{ where: 'method', value: req.method }]);
  if (field.AllQueryArguments) {
    return values(
      queryArgs(queryString(req, preParse)).map(([k, v]) => ({ where: `query-arg:${k}`, value: v })),
    );
  }
  if (field.SingleQueryArgument) {
    const name = asciiLower(field.SingleQueryArgument.Name);
    const found = queryArgs(queryString(req, preParse)).filter(([k]) => asciiLower(k) === name);
    return found.length
      ? values(found.map(([k, v]) => ({ where: `query-arg:${k}`, value: v })))
      : missing(`query argument "${field.SingleQueryArgument.Name}"`);
  }
  if (field.SingleHeader) {
    const found = headerValues(req, field.SingleHeader.Name);
    const name = asciiLower(field.SingleHeader.Name);
    return found.length
      ? values(found.map((v) => ({ where: `header:${name}`, value: v })))
      : missing(`header "${field.SingleHeader.Name}"`);
  }
  if (field.Headers) {
    const h = field.Headers;
    const { kept, oversize } = limited(req.headers, 4); // "name: value\r\n"
    if (oversize) {
      const fixedResult = oversized(h.OversizeHandling, 'headers');
      if (fixedResult) return fixedResult;
    }
    const included = h.MatchPattern.IncludedHeaders?.map(asciiLower);
    const excluded = h.MatchPattern.ExcludedHeaders?.map(asciiLower);
    const scope = h.MatchScope;
    const items: Inspected[] = [];
    for (const [k, v] of kept) {
      const lk = asciiLower(k);
      if (included ? !included.includes(lk) : excluded ? excluded.includes(lk) : false) continue;
      if (scope !== 'VALUE') items.push({ where: `header-name:${lk}`, value: lk });
      if (scope !== 'KEY') items.push({ where: `header:${lk}`, value: v });
    }
    return values(items);
  }
  if (field.Cookies) {
    const c = field.Cookies;
    const { kept, oversize } = limited(cookiesOf(req), 2); // "name=value; "
    if (oversize) {
      const fixedResult = oversized(c.OversizeHandling, 'cookies');
      if (fixedResult) return fixedResult;
    }
    const included = c.MatchPattern.IncludedCookies;
    const excluded = c.MatchPattern.ExcludedCookies;
    const selected = kept.filter(([k]) =>
      included ? included.includes(k) : excluded ? !excluded.includes(k) : true,
    );
    return values(scoped(selected, c.MatchScope, 'cookie'));
  }
  if (field.HeaderOrder) {
    if (req.headers.length > HEADER_LIMIT_COUNT) {
      const fixedResult = oversized(field.HeaderOrder.OversizeHandling, 'headers');
      if (fixedResult) return fixedResult;
    }
    return values([
      { where: 'header-order', value: headerOrder({ headers: req.headers.slice(0, HEADER_LIMIT_COUNT) }) },
    ]);
  }
  if (field.Body) {
    if (req.body === undefined) return missing('body');
    const limit = bodyLimitOf(options);
    if (req.body.length > limit) {
      const fixedResult = oversized(field.Body.OversizeHandling, `body (${req.body.length} bytes)`);
      if (fixedResult) return fixedResult;
      return values([{ where: `body[0..${limit}]`, value: req.body.slice(0, limit) }]);
    }
    return values([{ where: 'body', value: req.body }]);
  }
  if (field.JsonBody) {
    const j = field.JsonBody;
    if (req.body === undefined) return missing('body');
    const limit = bodyLimitOf(options);
    let body = req.body;
    if (body.length > limit) {
      const fixedResult = oversized(j.OversizeHandling, `body (${body.length} bytes)`);
      if (fixedResult) return fixedResult;
      body = body.slice(0, limit);
    }
    const parsed = parseJsonBody(body);
    if (parsed.error) {
      switch (j.InvalidFallbackBehavior) {
        case 'MATCH':
          return fixed(true, `invalid JSON (${parsed.error}): InvalidFallbackBehavior MATCH`);
        case 'NO_MATCH':
          return fixed(false, `invalid JSON (${parsed.error}): InvalidFallbackBehavior NO_MATCH`);
        case 'EVALUATE_AS_STRING':
          return values([{ where: 'body (invalid JSON, evaluated as string)', value: body }]);
        default:
          break; // inspect what was parsed before the error
      }
    }
    const paths = j.MatchPattern.IncludedPaths;
    const items = parsed.elements
      .filter((e) =>
        j.MatchScope === 'ALL' ? true : j.MatchScope === 'KEY' ? e.kind === 'key' : e.kind === 'value',
      )
      .filter((e) => (paths ? underPaths(e, paths) : true))
      .map((e) => ({ where: `json-${e.kind}:${e.pointer || '/'}`, value: e.value }));
    return values(items);
  }
  if (field.UriFragment) {
    if (req.fragment !== undefined) return values([{ where: 'uri-fragment', value: req.fragment }]);
    return fixed(field.UriFragment.FallbackBehavior === 'MATCH', 'no URI fragment (FallbackBehavior)');
  }
  if (field.JA3Fingerprint) {
    if (req.ja3 !== undefined) return values([{ where: 'ja3', value: req.ja3 }]);
    return fixed(field.JA3Fingerprint.FallbackBehavior === 'MATCH', 'no JA3 fingerprint (FallbackBehavior)');
  }
  if (field.JA4Fingerprint) {
    if (req.ja4 !== undefined) return values([{ where: 'ja4', value: req.ja4 }]);
    return fixed(field.JA4Fingerprint.FallbackBehavior === 'MATCH', 'no JA4 fingerprint (FallbackBehavior)');
  }
  throw new Error(`unsupported FieldToMatch ${Object.keys(field).join(',')}`);
}
