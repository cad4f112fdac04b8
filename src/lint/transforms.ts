// Facts about text transformations that several checks need.
import type { TextTransformation, TextTransformationType } from '../waf/model/shapes.generated.js';

export const DECODERS: ReadonlySet<TextTransformationType> = new Set([
  'URL_DECODE',
  'URL_DECODE_UNI',
  'HTML_ENTITY_DECODE',
  'JS_DECODE',
  'JS_DECODE_EXT',
  'CSS_DECODE',
  'BASE64_DECODE',
  'BASE64_DECODE_EXT',
  'HEX_DECODE',
  'SQL_HEX_DECODE',
  'ESCAPE_SEQ_DECODE',
  'UTF8_TO_UNICODE',
]);

export const URL_DECODERS: ReadonlySet<TextTransformationType> = new Set(['URL_DECODE', 'URL_DECODE_UNI']);

/** Transformations that give the same result when applied twice. */
export const IDEMPOTENT: ReadonlySet<TextTransformationType> = new Set([
  'LOWERCASE',
  'UPPERCASE',
  'COMPRESS_WHITE_SPACE',
  'REMOVE_NULLS',
  'REPLACE_NULLS',
  'REMOVE_WHITESPACE',
  'TRIM',
  'TRIM_LEFT',
  'TRIM_RIGHT',
  'NORMALIZE_PATH',
  'NORMALIZE_PATH_WIN',
  'CMD_LINE',
  'CMD_LINE_UNIX',
  'CMD_LINE_WIN',
  'REPLACE_COMMENTS',
  'REMOVE_COMMENTS_CHAR',
  'NONE',
]);

const LOWERING: ReadonlySet<TextTransformationType> = new Set([
  'LOWERCASE',
  'CMD_LINE',
  'CMD_LINE_UNIX',
  'CMD_LINE_WIN',
]);

export function ordered(list: readonly TextTransformation[]): TextTransformation[] {
  return [...list].sort((a, b) => a.Priority - b.Priority);
}

/** The case the inspected value is guaranteed to be in after the transformations, if any. */
export function foldedCase(list: readonly TextTransformation[]): 'lower' | 'upper' | undefined {
  let state: 'lower' | 'upper' | undefined;
  for (const t of ordered(list)) {
    if (LOWERING.has(t.Type)) state = 'lower';
    else if (t.Type === 'UPPERCASE') state = 'upper';
    else if (DECODERS.has(t.Type)) state = undefined; // decoding can bring back either case
  }
  return state;
}
