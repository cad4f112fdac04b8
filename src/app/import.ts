// The `import` use case: files and directory trees of vulnerability data into the store. A bad
// record is reported and skipped; the rest are imported; importing the same data again changes
// nothing.
import { stat } from 'node:fs/promises';

import type { Store } from '../store/index.js';
import { importPath, type ImportError } from '../vulns/importers/index.js';
import { InputError } from '../core/errors.js';

export interface ImportSummary {
  files: number;
  inserted: number;
  updated: number;
  unchanged: number;
  kevMarked: number;
  evidenceAdded: number;
  errors: ImportError[];
}

export async function importPaths(
  store: Store,
  paths: readonly string[],
  onProgress?: (done: number, total: number) => void,
): Promise<ImportSummary> {
  const named = new Set<string>();
  for (const p of paths) {
    try {
      if (!(await stat(p)).isDirectory()) named.add(p);
    } catch {
      throw new InputError(`${p}: no such file or directory`);
    }
  }
  const summary: ImportSummary = {
    files: 0,
    inserted: 0,
    updated: 0,
    unchanged: 0,
    kevMarked: 0,
    evidenceAdded: 0,
    errors: [],
  };
  for (const p of paths) {
    for await (const file of importPath(p, { ...(onProgress ? { onProgress } : {}) })) {
      // A file named on the command line over an input limit is bad input (exit 2, one line); one
      // found in a directory is reported with the others, and the rest of the tree still imports.
      if (file.limitExceeded && named.has(p)) throw file.limitExceeded;
      summary.files++;
      summary.errors.push(...file.errors);
      // KEV entries only mark records: the catalog's own names must not overwrite NVD's.
      const kev = file.format === 'kev' ? file.records : [];
      const records = file.format === 'kev' ? [] : file.records;
      if (records.length > 0) {
        const counts = await store.vulns.upsertMany(records);
        summary.inserted += counts.inserted;
        summary.updated += counts.updated;
        summary.unchanged += counts.unchanged;
      }
      const byDate = new Map<string, string[]>();
      for (const r of kev)
        byDate.set(r.kevDateAdded ?? '', [...(byDate.get(r.kevDateAdded ?? '') ?? []), r.id]);
      for (const [date, ids] of byDate) summary.kevMarked += (await store.vulns.markKev(ids, date)).updated;
      for (const e of file.evidence) if ((await store.evidence.add(e)).added) summary.evidenceAdded++;
    }
  }
  return summary;
}
