// Which attack technique a vulnerability is exploited with: the record's own facts first, then the
// classes its evidence requests were labelled with, then a score over everything the record says —
// title, description, tags, product and vendor, CWEs. The text decides before the CWE does: a CWE is
// often generic (CWE-74, CWE-94, CWE-20) or shared by several techniques (CWE-917 is both JNDI lookup
// and OGNL/SpEL evaluation), while "JNDI injection" or "SpEL" in the title names the technique.
// Classes that score close to the best are returned too, so a rule written without evidence can
// cover every technique the record plausibly means.
import type { HttpRequest } from '../../requests/model.js';
import { ATTACK_CLASSES, type AttackClass, type VulnRecord } from '../../vulns/model.js';
import { KNOWLEDGE } from '../knowledge/index.js';

export interface Classification {
  attackClass: AttackClass;
  basis: 'facts' | 'evidence' | 'cwe' | 'description' | 'default';
  /** Other classes the record plausibly means (scored at least half the best), best first. */
  alternatives: AttackClass[];
}

const isClass = (c: unknown): c is AttackClass => (ATTACK_CLASSES as readonly unknown[]).includes(c);

/**
 * Product and vendor words that name the technique their famous bugs are exploited with: the
 * expression language a product evaluates, the lookup a library performs. Public knowledge, used
 * only to break ties between techniques the text and the CWE already point to.
 */
const PRODUCT_HINTS: readonly { words: RegExp; attackClass: AttackClass }[] = [
  { words: /\b(?:struts|ognl|xwork|confluence)\b/, attackClass: 'expression-injection' },
  { words: /\b(?:spring|spel)\b/, attackClass: 'expression-injection' },
  { words: /\b(?:el|expression language|mvel|jexl)\b/, attackClass: 'expression-injection' },
  { words: /\b(?:log4j|log4shell|jndi|ldap|rmi)\b/, attackClass: 'jndi-injection' },
  { words: /\b(?:xstream|xmldecoder|jackson|fastjson|weblogic|\.net)\b/, attackClass: 'deserialization' },
];

/** CWEs that say little about the technique: they count for less than a specific one. */
const GENERIC_CWES = new Set(['CWE-20', 'CWE-74', 'CWE-77', 'CWE-94', 'CWE-284', 'CWE-917']);

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const keywordRes = new Map(
  Object.values(KNOWLEDGE).map((k) => [
    k.attackClass,
    // eslint-disable-next-line security/detect-non-literal-regexp -- keywords of the built-in knowledge, escaped (escapeRe)
    k.keywords.map((w) => ({ re: new RegExp(`\\b${escapeRe(w)}\\b`, 'g'), weight: w.split(' ').length })),
  ]),
);

function keywordScores(text: string, weight: number, into: Map<AttackClass, number>): void {
  const lower = text.toLowerCase();
  for (const [attackClass, res] of keywordRes) {
    let score = 0;
    for (const { re, weight: w } of res) score += (lower.match(re) ?? []).length * w;
    if (score > 0) into.set(attackClass, (into.get(attackClass) ?? 0) + score * weight);
  }
}

const add = (m: Map<AttackClass, number>, c: AttackClass, v: number) => m.set(c, (m.get(c) ?? 0) + v);

/** Scores per class from the record's text, tags, product and CWEs; also which part decided. */
function scoreRecord(record: VulnRecord): { scores: Map<AttackClass, number>; textDecided: boolean } {
  const text = new Map<AttackClass, number>();
  keywordScores(record.title ?? '', 2, text);
  keywordScores(record.description, 1, text);
  // Tags are single words: `sqli`, `xxe`, `ssrf`, `fileupload`, `auth-bypass`.
  keywordScores(record.tags.map((t) => t.replace(/-/g, ' ')).join(' , '), 2, text);
  for (const tag of record.tags.map((t) => t.toLowerCase()))
    if (isClass(tag)) add(text, tag, 3);
    else if (tag === 'fileupload') add(text, 'file-upload', 3);
    else if (tag === 'lfi') add(text, 'path-traversal', 3);
  const scores = new Map(text);
  // `spring_data_commons`, `big-ip`: product names as words.
  const about =
    `${record.title ?? ''} ${record.product ?? ''} ${record.vendor ?? ''} ${record.description} ${record.tags.join(' ')}`
      .toLowerCase()
      .replace(/[_-]+/g, ' ');
  for (const hint of PRODUCT_HINTS) if (hint.words.test(about)) add(scores, hint.attackClass, 1);
  for (const k of Object.values(KNOWLEDGE))
    for (const cwe of record.cwes)
      if (k.cwes.includes(cwe)) add(scores, k.attackClass, GENERIC_CWES.has(cwe) ? 1 : 3);
  return { scores, textDecided: text.size > 0 };
}

export function classify(record: VulnRecord, evidence: readonly HttpRequest[]): Classification {
  if (record.exploit?.attackClass)
    return { attackClass: record.exploit.attackClass, basis: 'facts', alternatives: [] };
  const labelled = evidence.map((r) => r.class).filter(isClass);
  if (labelled.length > 0) {
    const counts = new Map<AttackClass, number>();
    for (const c of labelled) counts.set(c, (counts.get(c) ?? 0) + 1);
    return {
      attackClass: [...counts].sort((a, b) => b[1] - a[1])[0]![0],
      basis: 'evidence',
      alternatives: [],
    };
  }
  const { scores, textDecided } = scoreRecord(record);
  const ranked = [...scores].sort((a, b) => b[1] - a[1]);
  if (ranked.length === 0) return { attackClass: 'code-injection', basis: 'default', alternatives: [] };
  const [best, top] = ranked[0]!;
  // Other classes the record plausibly means: scored at least half the best.
  const alternatives = ranked.filter(([c, s]) => c !== best && s * 2 >= top).map(([c]) => c);
  return { attackClass: best, basis: textDecided ? 'description' : 'cwe', alternatives };
}
