// The exploit facts the engines work from: the record's own (bundled or imported), what the
// heuristic extractor finds in its description, and signatures extracted from fetched evidence.
import { extractFacts } from '../evidence/extract.js';
import { ExploitFactsSchema, type ExploitFacts, type VulnRecord } from '../vulns/model.js';

const union = (...lists: readonly (readonly string[] | undefined)[]): string[] => [
  ...new Set(lists.flatMap((l) => l ?? [])),
];

export function mergeFacts(record: VulnRecord, extra: readonly ExploitFacts[] = []): ExploitFacts {
  const described = extractFacts(`${record.title ?? ''}\n${record.description}`).facts;
  const all = [record.exploit, described, ...extra].filter((f): f is ExploitFacts => f !== undefined);
  return ExploitFactsSchema.parse({
    attackClass: record.exploit?.attackClass ?? extra.find((f) => f.attackClass)?.attackClass,
    endpoints: union(...all.map((f) => f.endpoints)),
    parameters: union(...all.map((f) => f.parameters)),
    methods: union(...all.map((f) => f.methods)),
    headers: union(...all.map((f) => f.headers)),
    payloadTokens: union(...all.map((f) => f.payloadTokens)),
    ...(record.exploit?.notes ? { notes: record.exploit.notes } : {}),
  });
}
