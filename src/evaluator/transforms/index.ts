// Registry of the AWS WAFv2 text transformations (TextTransformationType, 31 types) and of the pre-parse
// query-string transformations (PreParseTextTransformationType). Every function maps a byte string to a
// byte string (see ../bytes.ts). Behaviour notes and sources live in each module.

import { base64DecodeExt } from './base64-decode-ext.js';
import { base64Decode } from './base64-decode.js';
import { cmdLineUnix } from './cmd-line-unix.js';
import { cmdLineWin } from './cmd-line-win.js';
import { cmdLine } from './cmd-line.js';
import { combineDuplicateQueryArgsByComma } from './combine-duplicate-query-args-by-comma.js';
import { compressWhiteSpace } from './compress-white-space.js';
import { cssDecode } from './css-decode.js';
import { escapeSeqDecode } from './escape-seq-decode.js';
import { hexDecode } from './hex-decode.js';
import { htmlEntityDecode } from './html-entity-decode.js';
import { jsDecodeExt } from './js-decode-ext.js';
import { jsDecode } from './js-decode.js';
import { lowercase } from './lowercase.js';
import { md5 } from './md5.js';
import { none } from './none.js';
import { normalizePathWin } from './normalize-path-win.js';
import { normalizePath } from './normalize-path.js';
import { removeCommentsChar } from './remove-comments-char.js';
import { removeNulls } from './remove-nulls.js';
import { removeWhitespace } from './remove-whitespace.js';
import { replaceComments } from './replace-comments.js';
import { replaceNulls } from './replace-nulls.js';
import { replaceSemicolonsWithAmpersands } from './replace-semicolons-with-ampersands.js';
import { sha256 } from './sha256.js';
import { sqlHexDecode } from './sql-hex-decode.js';
import { trimLeft } from './trim-left.js';
import { trimRight } from './trim-right.js';
import { trim } from './trim.js';
import { uppercase } from './uppercase.js';
import { urlDecodeUni } from './url-decode-uni.js';
import { urlDecode } from './url-decode.js';
import { utf8ToUnicode } from './utf8-to-unicode.js';

export type Transform = (input: string) => string;

import { TextTransformationTypeValues } from '../../waf/model/shapes.generated.js';

/** A transformation as it appears in a rule: `{ Priority, Type }`. */
export interface TransformationRef {
  readonly Priority: number;
  readonly Type: string;
}

/** The 31 values of TextTransformationType, from the AWS API model (the schema's own list). */
export const TEXT_TRANSFORMATION_TYPES = TextTransformationTypeValues;

export type TextTransformationType = (typeof TEXT_TRANSFORMATION_TYPES)[number];

export const TEXT_TRANSFORMATIONS: Readonly<Record<TextTransformationType, Transform>> = Object.freeze({
  NONE: none,
  COMPRESS_WHITE_SPACE: compressWhiteSpace,
  HTML_ENTITY_DECODE: htmlEntityDecode,
  LOWERCASE: lowercase,
  CMD_LINE: cmdLine,
  URL_DECODE: urlDecode,
  BASE64_DECODE: base64Decode,
  HEX_DECODE: hexDecode,
  MD5: md5,
  REPLACE_COMMENTS: replaceComments,
  ESCAPE_SEQ_DECODE: escapeSeqDecode,
  SQL_HEX_DECODE: sqlHexDecode,
  CSS_DECODE: cssDecode,
  JS_DECODE: jsDecode,
  NORMALIZE_PATH: normalizePath,
  NORMALIZE_PATH_WIN: normalizePathWin,
  REMOVE_NULLS: removeNulls,
  REPLACE_NULLS: replaceNulls,
  BASE64_DECODE_EXT: base64DecodeExt,
  URL_DECODE_UNI: urlDecodeUni,
  UTF8_TO_UNICODE: utf8ToUnicode,
  REMOVE_WHITESPACE: removeWhitespace,
  TRIM: trim,
  TRIM_LEFT: trimLeft,
  TRIM_RIGHT: trimRight,
  REMOVE_COMMENTS_CHAR: removeCommentsChar,
  UPPERCASE: uppercase,
  CMD_LINE_WIN: cmdLineWin,
  CMD_LINE_UNIX: cmdLineUnix,
  JS_DECODE_EXT: jsDecodeExt,
  SHA256: sha256,
});

/** The 5 values of PreParseTextTransformationType, in the API model's order. */
export const PRE_PARSE_TRANSFORMATION_TYPES = [
  'NONE',
  'URL_DECODE',
  'URL_DECODE_UNI',
  'COMBINE_DUPLICATE_QUERY_ARGS_BY_COMMA',
  'REPLACE_SEMICOLONS_WITH_AMPERSANDS',
] as const;

export type PreParseTextTransformationType = (typeof PRE_PARSE_TRANSFORMATION_TYPES)[number];

/** Pre-parse transformations run on the raw query string, before it is split into arguments. */
export const PRE_PARSE_TRANSFORMATIONS: Readonly<Record<PreParseTextTransformationType, Transform>> =
  Object.freeze({
    NONE: none,
    URL_DECODE: urlDecode,
    URL_DECODE_UNI: urlDecodeUni,
    COMBINE_DUPLICATE_QUERY_ARGS_BY_COMMA: combineDuplicateQueryArgsByComma,
    REPLACE_SEMICOLONS_WITH_AMPERSANDS: replaceSemicolonsWithAmpersands,
  });

export function isTextTransformationType(type: string): type is TextTransformationType {
  return Object.hasOwn(TEXT_TRANSFORMATIONS, type);
}

type Registry = Readonly<Record<string, Transform>>;

function lookup(registry: Registry, kind: string, ref: TransformationRef): Transform {
  const fn = Object.hasOwn(registry, ref.Type) ? registry[ref.Type] : undefined;
  if (fn === undefined) {
    throw new Error(`Unknown ${kind} type "${String(ref.Type)}" (Priority ${String(ref.Priority)})`);
  }
  return fn;
}

/**
 * Resolve and order a transformation list once: ascending Priority (ties keep list order; AWS requires
 * distinct priorities, which is the schema's job to enforce). Throws on an unknown type.
 */
function compile(registry: Registry, kind: string, refs: readonly TransformationRef[]): readonly Transform[] {
  return [...refs].sort((a, b) => a.Priority - b.Priority).map((ref) => lookup(registry, kind, ref));
}

// Compiled pipelines, keyed by the rule's own list object: a rule is evaluated against many requests, so each
// list is sorted and resolved once. Lists are treated as immutable after their first use.
const textCache = new WeakMap<readonly TransformationRef[], readonly Transform[]>();
const preParseCache = new WeakMap<readonly TransformationRef[], readonly Transform[]>();

function run(
  registry: Registry,
  kind: string,
  cache: WeakMap<readonly TransformationRef[], readonly Transform[]>,
  value: string,
  refs: readonly TransformationRef[],
): string {
  if (refs.length === 0) return value;
  if (refs.length === 1) return lookup(registry, kind, refs[0] as TransformationRef)(value);
  let pipeline = cache.get(refs);
  if (pipeline === undefined) {
    pipeline = compile(registry, kind, refs);
    cache.set(refs, pipeline);
  }
  for (const fn of pipeline) value = fn(value);
  return value;
}

/**
 * Resolve and sort a TextTransformations list into its steps, in the order they run (throws on an
 * unknown type, as `compileTextTransformations` does).
 */
export function resolveTextTransformations(
  transformations: readonly TransformationRef[],
): { type: string; fn: Transform }[] {
  return [...transformations]
    .sort((a, b) => a.Priority - b.Priority)
    .map((ref) => ({ type: ref.Type, fn: lookup(TEXT_TRANSFORMATIONS, 'text transformation', ref) }));
}

/** Resolve and sort a TextTransformations list into one function (throws on an unknown type). */
export function compileTextTransformations(transformations: readonly TransformationRef[]): Transform {
  const pipeline = compile(TEXT_TRANSFORMATIONS, 'text transformation', transformations);
  return (value) => {
    for (const fn of pipeline) value = fn(value);
    return value;
  };
}

/**
 * Apply a rule's TextTransformations to a byte string in ascending Priority order (not list order), each
 * one's output feeding the next. Throws an Error naming the type for an unknown type.
 */
export function applyTextTransformations(
  value: string,
  transformations: readonly TransformationRef[],
): string {
  return run(TEXT_TRANSFORMATIONS, 'text transformation', textCache, value, transformations);
}

/** Apply PreParseTextTransformations to a raw query string in ascending Priority order. */
export function applyPreParseTransformations(
  queryString: string,
  transformations: readonly TransformationRef[],
): string {
  return run(
    PRE_PARSE_TRANSFORMATIONS,
    'pre-parse text transformation',
    preParseCache,
    queryString,
    transformations,
  );
}
