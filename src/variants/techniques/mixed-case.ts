// mixed-case: flip the case of letters where the target ignores case, chosen by the request's attack
// class (Java class names, OGNL/SpEL, shell commands and file names are case-sensitive, so most classes
// only get the header-name form):
//
//   sqli            SQL keywords and built-in functions (`SeLeCt`, `SlEeP`) in values that look like SQL
//   xss             HTML tag and attribute names (`<SvG/OnLoAd=`), `javascript:` / `vbscript:` schemes
//   ssrf, xxe       URL schemes (`HtTp://`, `FiLe://`): URL parsers lower-case the scheme
//   jndi-injection  Log4j lookup prefixes (`${JnDi:`): Log4j's Interpolator lower-cases the prefix
//   any class       header names in alternating case (`UsEr-AgEnT`), a second variant
//
// The payload form edits the decoded view of every slot and keeps the encoding of untouched bytes.

import type { HttpRequest } from '../../requests/model.js';
import { type Edit, editSlot, nonOverlapping, regexEdits } from '../encoding.js';
import { type Draft, ALL_SLOTS, draftOf, mapSlots } from '../parts.js';
import { htmlTags } from '../html.js';
import { looksLikeSql, SQL_KEYWORD_RE } from '../sql.js';
import type { VariantTechnique } from '../types.js';

/** Alternate upper/lower over the letters of `s`, starting upper; starting lower if that changes nothing. */
export function alternateCase(s: string): string {
  const flip = (upperFirst: boolean) => {
    let up = upperFirst;
    return s.replace(/[A-Za-z]/g, (c) => {
      const r = up ? c.toUpperCase() : c.toLowerCase();
      up = !up;
      return r;
    });
  };
  const a = flip(true);
  return a !== s ? a : flip(false);
}

const flipMatch = (m: RegExpExecArray) => alternateCase(m[0]);

/** Flip only capture group 1 of each match. */
function groupEdits(decoded: string, re: RegExp): Edit[] {
  const edits: Edit[] = [];
  // eslint-disable-next-line security/detect-non-literal-regexp -- a copy of the caller's RegExp with the g flag, no new source
  const g = new RegExp(re.source, re.flags.includes('g') ? re.flags : re.flags + 'g');
  for (let m = g.exec(decoded); m; m = g.exec(decoded)) {
    const word = m[1];
    if (word === undefined) continue;
    const start = m.index + m[0].indexOf(word);
    const text = alternateCase(word);
    if (text !== word) edits.push({ start, end: start + word.length, text });
  }
  return edits;
}

const SCRIPT_SCHEME = /\b(?:javascript|vbscript)(?=:)/gi;
const URL_SCHEME = /\b(?:https?|ftp|file|gopher|dict|jar|netdoc)(?=:\/\/)/gi;
const LOG4J_PREFIX = /\$\{([A-Za-z]+):/g;

function flipAt(start: number, word: string): Edit[] {
  const text = alternateCase(word);
  return text === word ? [] : [{ start, end: start + word.length, text }];
}

/** Tag names, attribute names and script schemes of injected HTML (the HTML parser ignores their case). */
function xssEdits(decoded: string): Edit[] {
  if (!decoded.includes('<') && !/script:/i.test(decoded)) return [];
  const edits = regexEdits(decoded, SCRIPT_SCHEME, flipMatch);
  for (const tag of htmlTags(decoded)) {
    edits.push(...flipAt(tag.nameStart, tag.name));
    for (const a of tag.attributes)
      if (/^[A-Za-z][\w-]*$/.test(a.name)) edits.push(...flipAt(a.nameStart, a.name));
  }
  return nonOverlapping(edits);
}

/** Case edits for the payload in one decoded slot, by attack class. */
function payloadCaseEdits(decoded: string, cls: string | undefined): Edit[] {
  switch (cls) {
    case 'sqli':
      return looksLikeSql(decoded) ? regexEdits(decoded, SQL_KEYWORD_RE, flipMatch) : [];
    case 'xss':
      return xssEdits(decoded);
    case 'ssrf':
    case 'xxe':
      return regexEdits(decoded, URL_SCHEME, flipMatch);
    case 'jndi-injection':
      return groupEdits(decoded, LOG4J_PREFIX);
    default:
      return [];
  }
}

function payloadVariant(req: HttpRequest): Draft {
  return mapSlots(
    req,
    ALL_SLOTS,
    (raw, slot) => editSlot(raw, slot.kind, (d) => payloadCaseEdits(d, req.class)),
    'payload',
  );
}

function headerNameVariant(req: HttpRequest): Draft {
  const d = draftOf(req, 'header-names');
  d.headers = d.headers.map(([n, v]) => [alternateCase(n), v]);
  return d;
}

export const mixedCase: VariantTechnique = {
  name: 'mixed-case',
  description:
    'alternate letter case where the target ignores it: SQL, HTML, URL schemes, Log4j prefixes, header names',
  derive(req) {
    return [payloadVariant(req), headerNameVariant(req)];
  },
};
