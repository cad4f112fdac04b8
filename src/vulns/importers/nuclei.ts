// nuclei templates (YAML) → a vulnerability record plus exploit evidence.
//
// The record comes from the template's `info` block:
//   id                ← info.classification.cve-id (the first), else the template id when it is a CVE id;
//                       a template with neither (most non-CVE templates) is skipped with a warning
//   title             ← info.name          description ← info.description
//   severity          ← info.severity (nuclei's `info` → none), else from the score
//   cvss              ← classification.cvss-score, cvss-metrics (the vector; its version)
//   cwes              ← classification.cwe-id (a string with commas, or a list)
//   cpes              ← classification.cpe
//   vendor, product   ← info.metadata.vendor / product, else from the CPE
//   references        ← info.reference (a string or a list)
//   tags              ← info.tags (a string with commas, or a list); kev ← the `kev` tag (nuclei's
//                       convention for CISA KEV entries)
// source is "nuclei".
//
// The evidence: one `request` per concrete request the template sends, made by the request parser in
// src/requests (placeholders resolved the way the shared corpus was built), converted from its
// byte strings back to UTF-8 text; and one `template` holding the YAML (untrusted text). A request
// the parser cannot make concrete (values from an earlier response, payload files) is a warning.

import type { EvidenceRequest } from '../evidence.js';
import { byteStringToUtf8 } from '../../core/bytes.js';
import type { HttpRequest } from '../../requests/model.js';
import { errorMessage } from '../../core/errors.js';
import { yaml } from '../../core/yaml.js';
import { parseNucleiTemplate } from '../../requests/nuclei.js';
import {
  type ImportOptions,
  type ImportResult,
  atLine,
  cap,
  compact,
  cweList,
  emptyResult,
  fetchedAtOf,
  isObject,
  makeCvss,
  parseCpe,
  referenceList,
  severityOf,
  sha256,
  str,
  stringList,
  toRecord,
  wholeFile,
} from './common.js';
import { CVE_ID, type VulnRecord } from '../model.js';

/** Longest template text kept as `template` evidence (the Evidence schema's cap). */
const MAX_TEMPLATE_TEXT = 200_000;

/** The first CVE id in a `cve-id` value (string, comma-separated string, or list). */
function firstCve(v: unknown): string | undefined {
  return stringList(v, /[,\s]+/).find((s) => CVE_ID.test(s));
}

/** Parse the text of one nuclei template. */
export function parseNucleiVuln(text: string, file: string, opts: ImportOptions = {}): ImportResult {
  const result = emptyResult();
  const { isMap, LineCounter, parseDocument } = yaml();
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: false });
  const yamlError = doc.errors[0];
  if (yamlError) {
    const line = yamlError.linePos?.[0]?.line ?? 1;
    result.errors.push(atLine(file, line, `invalid YAML: ${errorMessage(yamlError).split(' at line')[0]}`));
    return result;
  }
  let tpl: unknown;
  try {
    tpl = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    result.errors.push(wholeFile(file, `invalid YAML: ${errorMessage(err)}`));
    return result;
  }
  if (!isObject(tpl)) {
    result.errors.push(wholeFile(file, 'not a nuclei template (expected a YAML mapping)'));
    return result;
  }
  const infoLine = (() => {
    const node = isMap(doc.contents) ? doc.contents.items.find((p) => String(p.key) === 'info') : undefined;
    const start = (node?.key as { range?: [number, number, number] } | undefined)?.range?.[0];
    return start === undefined ? 1 : lineCounter.linePos(start).line;
  })();
  const info = tpl.info;
  if (!isObject(info)) {
    result.errors.push(wholeFile(file, 'not a nuclei template (no info: block)'));
    return result;
  }
  const cls = isObject(info.classification) ? info.classification : {};
  const templateId = str(tpl.id);
  const id =
    firstCve(cls['cve-id']) ?? (templateId !== undefined && CVE_ID.test(templateId) ? templateId : undefined);
  if (id === undefined) {
    result.warnings.push(
      atLine(
        file,
        infoLine,
        `template ${templateId ?? '(no id)'} names no CVE (classification.cve-id); skipped`,
      ),
    );
    return result;
  }

  const fetchedAt = fetchedAtOf(opts);
  const out = nucleiInfoToRecord(info, id, fetchedAt);
  if ('error' in out) {
    result.errors.push(atLine(file, infoLine, out.error));
    return result;
  }
  const record = out.record;
  result.records.push(record);
  const title = cap(record.title, 500);

  for (const item of parseNucleiTemplate(text, file)) {
    if ('error' in item) {
      result.warnings.push(atLine(file, item.error.line, `request not imported: ${item.error.message}`));
      continue;
    }
    const request = toEvidenceRequest(item.request, record.id);
    if ('error' in request) {
      result.warnings.push(wholeFile(file, `request ${item.request.id} not imported: ${request.error}`));
      continue;
    }
    result.evidence.push(
      compact({
        cveId: record.id,
        kind: 'request' as const,
        source: file,
        title,
        request: request.request,
        extractor: 'nuclei',
        fetchedAt,
        contentHash: requestHash(request.request),
      }),
    );
  }
  result.evidence.push(
    compact({
      cveId: record.id,
      kind: 'template' as const,
      source: file,
      title,
      text: cap(text, MAX_TEMPLATE_TEXT),
      extractor: 'nuclei',
      fetchedAt,
      contentHash: sha256(text),
    }),
  );
  return result;
}

/** A template's `info` block → a record for `id`. */
function nucleiInfoToRecord(
  info: Record<string, unknown>,
  id: string,
  fetchedAt: string,
): { record: VulnRecord } | { error: string } {
  const cls = isObject(info.classification) ? info.classification : {};
  const meta = isObject(info.metadata) ? info.metadata : {};
  const cvss = makeCvss(cls['cvss-score'], cls['cvss-metrics']);
  const cpes = stringList(cls.cpe, /[\s]+/).filter((c) => c.length <= 500);
  const cpe = cpes.map(parseCpe).find((c) => c !== undefined);
  const tags = stringList(info.tags).map((t) => t.toLowerCase());
  const out = toRecord(
    compact({
      id,
      title: cap(str(info.name), 300),
      description: cap(str(info.description) ?? '', 20_000),
      cwes: cweList(stringList(cls['cwe-id'], /[,\s]+/)),
      cvss,
      severity: severityOf(info.severity, cvss),
      vendor: cap(str(meta.vendor) ?? cpe?.vendor, 200),
      product: cap(str(meta.product) ?? cpe?.product, 200),
      cpes,
      references: referenceList(stringList(info.reference, /\s+/)),
      kev: tags.includes('kev'),
      source: 'nuclei',
      fetchedAt,
      tags: tags.filter((t) => t.length <= 100),
    }),
  );
  return 'record' in out ? out : { error: `${id}: ${out.error}` };
}

// The EvidenceRequest schema's limits.
const LIMITS = { id: 300, method: 20, uri: 16_384, headers: 200, name: 256, value: 16_384, body: 1_048_576 };

/** A parsed request (byte strings) → the evidence request shape (UTF-8 text), within the schema's limits. */
export function toEvidenceRequest(
  req: HttpRequest,
  cveId: string,
): { request: EvidenceRequest } | { error: string } {
  const text = byteStringToUtf8;
  const uri = text(req.uri);
  const headers = req.headers.map(([n, v]): [string, string] => [text(n), text(v)]);
  const body = req.body === undefined ? undefined : text(req.body);
  if (uri.length > LIMITS.uri) return { error: `request target longer than ${LIMITS.uri} characters` };
  if (headers.length > LIMITS.headers) return { error: `more than ${LIMITS.headers} headers` };
  if (headers.some(([n, v]) => n.length > LIMITS.name || v.length > LIMITS.value)) {
    return { error: 'a header name or value is too long' };
  }
  if (body !== undefined && body.length > LIMITS.body)
    return { error: `body longer than ${LIMITS.body} characters` };
  if (req.method.length > LIMITS.method) return { error: 'method too long' };
  return {
    request: compact({
      id: cap(req.id, LIMITS.id)!,
      method: req.method,
      uri,
      headers,
      body,
      expect: req.expect ?? 'block',
      class: req.class,
      cwe: req.cwe ?? null,
      cve: req.cve ?? cveId,
      source: cap(req.source, 2000),
    }),
  };
}

/** Hash of what a request sends (not its id or labels), so the same request is kept once. */
function requestHash(r: EvidenceRequest): string {
  return sha256(JSON.stringify([r.method, r.uri, r.headers, r.body ?? null]));
}
