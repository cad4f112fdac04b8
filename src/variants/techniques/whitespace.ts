// whitespace: rewrite the separators and keywords of the payload in a syntax the interpreter still
// accepts. Only for classes where the target language is known:
//
//   jndi-injection        Log4j lookups build `jndi` from nested lookups: `${${lower:j}ndi:...}` and
//                         `${${::-j}${::-n}${::-d}${::-i}:...}` (an empty key with a default value)
//   command-injection     spaces between shell words become `${IFS}`, then tabs, but only in a command
//                         that follows a shell metacharacter (`;`, `|`, `&`, `` ` ``, `$(`, a newline) and
//                         starts with a known command; quoted text and a Shellshock `() { ...; };` prefix
//                         stay as they are
//   expression-injection  OGNL, SpEL and EL skip whitespace between tokens: a space (then a tab) after
//                         `(` and `,` and around `*` and `=` inside `${...}`, `%{...}`, `#{...}`, `T(...)`
//
// Edits are made on the decoded view of every slot; in URL slots the new bytes are percent-encoded.

import { type Edit, editSlot } from '../encoding.js';
import { type Draft, ALL_SLOTS, mapSlots } from '../parts.js';
import type { VariantTechnique } from '../types.js';
import type { HttpRequest } from '../../requests/model.js';

// ---- Log4j ----

const JNDI = /\$\{(jndi):/gi;

function log4jEdits(decoded: string, form: 'lower' | 'default'): Edit[] {
  const edits: Edit[] = [];
  for (const m of decoded.matchAll(JNDI)) {
    const word = m[1]!;
    const start = m.index + 2;
    const text =
      form === 'lower'
        ? '${lower:' + word[0]! + '}' + word.slice(1)
        : [...word].map((c) => '${::-' + c + '}').join('');
    edits.push({ start, end: start + word.length, text });
  }
  return edits;
}

// ---- shell ----

const COMMANDS =
  'echo|printf|cat|id|whoami|uname|curl|wget|nslookup|dig|host|ping|sh|bash|ash|zsh|ls|rev|nc|ncat|telnet|' +
  'python|python3|perl|ruby|php|touch|rm|chmod|sleep|busybox|ifconfig|pwd|env|head|tail|base64|powershell|cmd';
const COMMAND_START = new RegExp(`^(?:(?:/[\\w.-]+)*/[\\w.-]+|(?:${COMMANDS})(?![\\w.-]))`);

/** Decoded spans of the payload that a shell parses as commands: [start, end). */
export function shellRegions(s: string): [number, number][] {
  const regions: [number, number][] = [];
  let i = 0;
  // A Shellshock function definition must stay byte for byte: bash matches the `() {` prefix exactly.
  const shellshock = /^\s*\(\)\s*\{[^}]*\};/.exec(s);
  if (shellshock) i = shellshock[0].length - 1;
  let quote = '';
  while (i < s.length) {
    const c = s[i]!;
    if (quote) {
      if (c === quote) quote = '';
      i++;
      continue;
    }
    if (c === "'" || c === '"') {
      quote = c;
      i++;
      continue;
    }
    let opener = '';
    if (c === '$' && s[i + 1] === '(') opener = '$(';
    else if (c === ';' || c === '|' || c === '&' || c === '`' || c === '\n') opener = c;
    if (!opener) {
      i++;
      continue;
    }
    const bodyStart = i + opener.length;
    let k = bodyStart;
    while (k < s.length && (s[k] === ' ' || s[k] === '\t' || s[k] === '|' || s[k] === '&')) k++;
    if (!COMMAND_START.test(s.slice(k, k + 64))) {
      i = bodyStart;
      continue;
    }
    const end = regionEnd(s, bodyStart, opener);
    regions.push([bodyStart, end]);
    i = end;
  }
  return regions;
}

/** End of a command started after `opener`: the matching `)` of `$(`, the closing backtick, or the end. */
function regionEnd(s: string, from: number, opener: string): number {
  let depth = 0;
  let quote = '';
  for (let j = from; j < s.length; j++) {
    const c = s[j]!;
    if (quote) {
      if (c === quote) quote = '';
      continue;
    }
    if (c === "'" || c === '"') quote = c;
    else if (opener === '`' && c === '`') return j;
    else if (opener === '$(' && c === '(') depth++;
    else if (opener === '$(' && c === ')') {
      if (depth === 0) return j;
      depth--;
    }
  }
  return s.length;
}

/** Edits replacing each run of spaces outside quotes, inside shell regions, with `sep`. */
function shellEdits(decoded: string, sep: string): Edit[] {
  const edits: Edit[] = [];
  for (const [a, b] of shellRegions(decoded)) {
    let quote = '';
    for (let j = a; j < b; j++) {
      const c = decoded[j]!;
      if (quote) {
        if (c === quote) quote = '';
        continue;
      }
      if (c === "'" || c === '"') quote = c;
      else if (c === ' ') {
        let k = j;
        while (k < b && decoded[k] === ' ') k++;
        edits.push({ start: j, end: k, text: sep });
        j = k - 1;
      }
    }
  }
  return edits;
}

// ---- OGNL / SpEL / EL ----

const CLOSER: Readonly<Record<string, string>> = { '{': '}', '(': ')', '[': ']' };

/** Spans inside `${...}`, `%{...}`, `#{...}` and `T(...)` (a SpEL `T(...)` runs on to the end of its chain). */
export function expressionRegions(s: string): [number, number][] {
  const regions: [number, number][] = [];
  const opener = /[$%#]\{|(?<![\w$])T\(/g;
  for (let m = opener.exec(s); m; m = opener.exec(s)) {
    const start = m.index + 2;
    const spel = m[0] === 'T(';
    const stack = [m[0][1]!];
    let quote = '';
    let j = start;
    for (; j < s.length; j++) {
      const c = s[j]!;
      if (quote) {
        if (c === quote) quote = '';
        continue;
      }
      if (c === "'" || c === '"') quote = c;
      else if (c in CLOSER) stack.push(c);
      else if (c === '}' || c === ')' || c === ']') {
        if (CLOSER[stack.at(-1) ?? ''] !== c) break;
        stack.pop();
        if (stack.length === 0 && !spel) break;
        if (stack.length === 0 && !/^\.[A-Za-z_]/.test(s.slice(j + 1, j + 3))) break;
      }
    }
    regions.push([start, Math.min(j, s.length)]);
    opener.lastIndex = Math.max(j, start);
  }
  return regions;
}

/** Edits adding `sep` after `(` and `,` and around `*` and a lone `=`, outside string literals. */
function expressionEdits(decoded: string, sep: string): Edit[] {
  const edits: Edit[] = [];
  for (const [a, b] of expressionRegions(decoded)) {
    let quote = '';
    for (let j = a; j < b; j++) {
      const c = decoded[j]!;
      const next = decoded[j + 1] ?? '';
      const prev = decoded[j - 1] ?? '';
      if (quote) {
        if (c === quote && prev !== '\\') quote = '';
        continue;
      }
      if (c === "'" || c === '"') quote = c;
      else if ((c === '(' && next !== ')') || c === ',') {
        if (next !== ' ' && j + 1 < b) edits.push({ start: j + 1, end: j + 1, text: sep });
      } else if (c === '*' || (c === '=' && !/[=!<>]/.test(prev) && !/[=~]/.test(next))) {
        if (prev !== ' ') edits.push({ start: j, end: j, text: sep });
        if (next !== ' ' && j + 1 < b) edits.push({ start: j + 1, end: j + 1, text: sep });
      }
    }
  }
  return edits;
}

// ---- technique ----

type Form = { detail: string; edits: (decoded: string) => Edit[] };

function formsFor(cls: string | undefined): Form[] {
  switch (cls) {
    case 'jndi-injection':
      return [
        { detail: 'log4j-lower', edits: (d) => log4jEdits(d, 'lower') },
        { detail: 'log4j-default', edits: (d) => log4jEdits(d, 'default') },
      ];
    case 'command-injection':
      return [
        { detail: 'ifs', edits: (d) => shellEdits(d, '${IFS}') },
        { detail: 'tab', edits: (d) => shellEdits(d, '\t') },
      ];
    case 'expression-injection':
      return [
        { detail: 'spaces', edits: (d) => expressionEdits(d, ' ') },
        { detail: 'tabs', edits: (d) => expressionEdits(d, '\t') },
      ];
    default:
      return [];
  }
}

function variant(req: HttpRequest, form: Form): Draft {
  return mapSlots(req, ALL_SLOTS, (raw, slot) => editSlot(raw, slot.kind, form.edits), form.detail);
}

export const whitespace: VariantTechnique = {
  name: 'whitespace',
  description: 'Log4j nested lookups for jndi, ${IFS}/tab for shell commands, extra spaces in OGNL/SpEL/EL',
  derive(req) {
    return formsFor(req.class).map((f) => variant(req, f));
  },
};
