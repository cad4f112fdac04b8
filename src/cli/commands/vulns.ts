import type { Command } from 'commander';

import { InputError } from '../../core/errors.js';
import type { Config } from '../../config/index.js';
import { SEVERITIES, type Severity } from '../../vulns/severity.js';
import { colors, EXIT, printable, printableJson, showsProgress, type Io } from '../io.js';

/** Store text came from imported files: shown escaped (io.ts, printable). */
const p = (text: string): string => printable(text);

export function registerVulnCommands(
  program: Command,
  io: Io,
  config: () => Config,
  setExit: (code: number) => void,
): void {
  program
    .command('list')
    .description('list the vulnerabilities in the local store')
    .option('--kev', 'only known-exploited (CISA KEV)')
    .option('--severity <level>', `only this severity (${SEVERITIES.join(', ')})`)
    .option('--search <text>', 'match id, title, description, vendor or product')
    .option('--limit <n>', 'at most this many', '100')
    .option('--json', 'print JSON records')
    .action(
      async (opts: { kev?: boolean; severity?: string; search?: string; limit: string; json?: boolean }) => {
        const { openSeededStore } = await import('../../app/store.js');
        if (opts.severity && !(SEVERITIES as readonly string[]).includes(opts.severity)) {
          throw new InputError(`--severity must be one of ${SEVERITIES.join(', ')}`);
        }
        const limit = Number(opts.limit);
        if (!Number.isInteger(limit) || limit < 1)
          throw new InputError('--limit must be a positive whole number');
        const store = await openSeededStore(config());
        try {
          const filter = {
            ...(opts.kev ? { kev: true } : {}),
            ...(opts.severity ? { severity: opts.severity as Severity } : {}),
            ...(opts.search ? { search: opts.search } : {}),
          };
          const records = await store.vulns.list({ ...filter, limit });
          const total = await store.vulns.count(filter);
          if (opts.json) {
            io.out(printableJson(records) + '\n');
            return;
          }
          const c = colors(io);
          for (const r of records) {
            const sev = r.severity.padEnd(8);
            io.out(
              `${p(r.id).padEnd(16)} ${r.severity === 'critical' ? c.red(sev) : r.severity === 'high' ? c.yellow(sev) : sev} ${r.kev ? 'KEV' : '   '} ${p(r.exploit?.attackClass ?? '').padEnd(20)} ${p(r.title ?? r.product ?? '')}\n`,
            );
          }
          io.err(`${records.length} of ${total} record(s)\n`);
        } finally {
          await store.close();
        }
      },
    );

  program
    .command('info')
    .description('show a vulnerability record, its evidence and its generated rules')
    .argument('<cve>', 'CVE ID')
    .option('--json', 'print JSON')
    .action(async (id: string, opts: { json?: boolean }) => {
      const [{ parseCveId }, { openSeededStore }] = await Promise.all([
        import('../../app/generate.js'),
        import('../../app/store.js'),
      ]);
      const { storedConfidence, storedVerdict } = await import('../../generation/verdict.js');
      const cveId = parseCveId(id);
      const store = await openSeededStore(config());
      try {
        const record = await store.vulns.get(cveId);
        if (!record) {
          throw new InputError(
            `${cveId} is not in the local store; import it with \`wafgen import <file>\` (NVD JSON, CVE JSON 5, KEV, nuclei template)`,
          );
        }
        const evidence = await store.evidence.forCve(cveId);
        // Each version with what its report proved.
        const rules = (await store.rules.versions(cveId)).map((r) => ({
          ...r,
          verdict: storedVerdict(r.report),
          confidence: storedConfidence(r.report),
        }));
        if (opts.json) {
          io.out(
            printableJson({ record, evidence, rules: rules.map(({ rule: _r, report: _p, ...v }) => v) }) +
              '\n',
          );
          return;
        }
        const c = colors(io);
        const f = record.exploit;
        const lines = [
          `${c.bold(p(record.id))} ${p(record.title ?? '')}`,
          `  severity ${record.severity}${record.cvss ? ` (CVSS ${record.cvss.score})` : ''}${record.kev ? ', known exploited (KEV)' : ''}`,
          `  ${p([record.vendor, record.product].filter(Boolean).join(' / ')) || 'product unknown'}; CWE ${p(record.cwes.join(', ')) || 'unknown'}; source ${p(record.source)}`,
          '',
          `  ${printable(record.description, { lines: true })}`,
          '',
        ];
        if (f) {
          lines.push(`  exploit facts: class ${p(f.attackClass ?? '?')}`);
          if (f.endpoints.length) lines.push(`    endpoints  ${p(f.endpoints.join(', '))}`);
          if (f.methods.length) lines.push(`    methods    ${p(f.methods.join(', '))}`);
          if (f.parameters.length) lines.push(`    parameters ${p(f.parameters.join(', '))}`);
          if (f.headers.length) lines.push(`    headers    ${p(f.headers.join(', '))}`);
          if (f.payloadTokens.length)
            lines.push(`    payloads   ${p(f.payloadTokens.map((t) => JSON.stringify(t)).join(', '))}`);
        }
        lines.push(
          `  evidence: ${evidence.length} item(s)${evidence.length ? ` (${[...new Set(evidence.map((e) => e.kind))].join(', ')})` : ''}`,
        );
        for (const e of evidence.slice(0, 10))
          lines.push(
            c.dim(
              `    ${e.kind} ${p(e.request ? `${e.request.method} ${e.request.uri.slice(0, 80)}` : (e.title ?? ''))} — ${p(e.source)}`,
            ),
          );
        lines.push(
          `  rules: ${rules.length ? rules.map((r) => `v${r.version} (${r.verdict}, confidence ${r.confidence}, ${p(r.engine)}, ${r.createdAt})`).join(', ') : 'none yet (wafgen generate ' + cveId + ')'}`,
        );
        // The newest version's candidates and judge verdict (issue 15), when it has them.
        const newest = rules[rules.length - 1];
        if (newest && newest.report && typeof newest.report === 'object') {
          const { candidateLines } = await import('./generate.js');
          const more = candidateLines(newest.report as Parameters<typeof candidateLines>[0], io);
          if (more.length > 0) lines.push(`  v${newest.version} candidates and judge:`, ...more);
        }
        for (const ref of record.references.slice(0, 8)) lines.push(c.dim(`  ${p(ref)}`));
        io.out(lines.join('\n') + '\n');
      } finally {
        await store.close();
      }
    });

  program
    .command('import')
    .description(
      'import vulnerability data: NVD API 2.0 responses, CVE JSON 5 records or trees, the CISA KEV catalog, nuclei templates, JSON Lines',
    )
    .argument('<path...>', 'files or directories; - for stdin')
    .option('--json', 'print the summary as JSON')
    .option('--store', 'the files are store exports (wafgen export) to restore')
    .addHelpText(
      'after',
      `
Exit status: 0 everything imported; 1 some records could not be read (reported; the others were
imported); 2 bad input: a file is not vulnerability data (or not a store export, with --store), or
nothing could be imported; 5 the store cannot be reached.`,
    )
    .action(async (paths: string[], opts: { json?: boolean; store?: boolean }) => {
      const [{ importPaths }, { openSeededStore }] = await Promise.all([
        import('../../app/import.js'),
        import('../../app/store.js'),
      ]);
      const { restoreStore } = await import('./backup.js');
      // `-` reads stdin (a record file, or a store export with --store).
      const { withStdin } = await import('../stdin.js');
      paths = await withStdin(paths, config().WAFGEN_MAX_INPUT_BYTES);
      if (opts.store) return restoreStore(io, config(), paths, opts, setExit);
      const store = await openSeededStore(config());
      try {
        const progress = showsProgress(io)
          ? (done: number, total: number) => io.err(`\r  importing ${done}/${total} file(s)`)
          : undefined;
        const summary = await importPaths(store, paths, progress);
        if (progress) io.err('\r\x1b[K'); // the progress line vanishes when done
        for (const e of summary.errors.slice(0, 50))
          io.err(`${p(e.file)}: ${p(e.position)}: ${p(e.message)}\n`);
        if (summary.errors.length > 50) io.err(`… and ${summary.errors.length - 50} more errors\n`);
        if (opts.json) io.out(JSON.stringify({ ...summary, errors: summary.errors.length }, null, 2) + '\n');
        else {
          io.out(
            `${summary.files} file(s): ${summary.inserted} new, ${summary.updated} updated, ${summary.unchanged} unchanged record(s); ` +
              `${summary.kevMarked} marked known-exploited; ${summary.evidenceAdded} new evidence item(s); ${summary.errors.length} error(s)\n`,
          );
        }
        // A file that is no vulnerability data at all (unrecognised, unreadable, over the size limit),
        // or input of which nothing could be imported, is bad input (2), as a file that is no store
        // export is for --store; bad records beside good ones are a partial import (1).
        const imported =
          summary.inserted + summary.updated + summary.unchanged + summary.kevMarked + summary.evidenceAdded;
        const noData = summary.errors.some((e) => e.position === 'file') || imported === 0;
        setExit(summary.errors.length === 0 ? EXIT.ok : noData ? EXIT.badInput : EXIT.failed);
      } finally {
        await store.close();
      }
    });
}
