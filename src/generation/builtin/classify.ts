// Which attack technique a vulnerability is exploited with: the record's own facts first, then the
// classes its evidence requests were labelled with, then its CWEs, then words in its description.
import type { HttpRequest } from '../../requests/model.js';
import { ATTACK_CLASSES, type AttackClass, type VulnRecord } from '../../vulns/model.js';
import { KNOWLEDGE } from '../knowledge/index.js';

export interface Classification {
  attackClass: AttackClass;
  basis: 'facts' | 'evidence' | 'cwe' | 'description' | 'default';
}

const isClass = (c: unknown): c is AttackClass => (ATTACK_CLASSES as readonly unknown[]).includes(c);

function keywordScores(text: string): Map<AttackClass, number> {
  const lower = text.toLowerCase();
  const scores = new Map<AttackClass, number>();
  for (const k of Object.values(KNOWLEDGE)) {
    let score = 0;
    for (const word of k.keywords) {
      const re = new RegExp(`\\b${word.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\b`, 'g');
      score += (lower.match(re) ?? []).length * word.split(' ').length;
    }
    if (score > 0) scores.set(k.attackClass, score);
  }
  return scores;
}

export function classify(record: VulnRecord, evidence: readonly HttpRequest[]): Classification {
  if (record.exploit?.attackClass) return { attackClass: record.exploit.attackClass, basis: 'facts' };
  const labelled = evidence.map((r) => r.class).filter(isClass);
  if (labelled.length > 0) {
    const counts = new Map<AttackClass, number>();
    for (const c of labelled) counts.set(c, (counts.get(c) ?? 0) + 1);
    return { attackClass: [...counts].sort((a, b) => b[1] - a[1])[0]![0], basis: 'evidence' };
  }
  const text = `${record.title ?? ''} ${record.description}`;
  const words = keywordScores(text);
  const byCwe = Object.values(KNOWLEDGE).filter((k) => record.cwes.some((c) => k.cwes.includes(c)));
  if (byCwe.length > 0) {
    // A CWE can point to several classes (CWE-917: JNDI or OGNL); the description breaks the tie.
    const best = [...byCwe].sort((a, b) => (words.get(b.attackClass) ?? 0) - (words.get(a.attackClass) ?? 0));
    return { attackClass: best[0]!.attackClass, basis: 'cwe' };
  }
  if (words.size > 0)
    return { attackClass: [...words].sort((a, b) => b[1] - a[1])[0]![0], basis: 'description' };
  return { attackClass: 'code-injection', basis: 'default' };
}
