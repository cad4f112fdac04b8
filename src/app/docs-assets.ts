/**
 * @module The API reference page's assets, bundled with the package (swagger-ui-dist, a dependency)
 * and read from it once per process, so `/docs` loads nothing from a CDN and works offline. Here,
 * not in api/, because the shared API app reads no files (see the architecture section).
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** The files /docs serves, with their media types: nothing else of the package is readable. */
const DOCS_FILES: Readonly<Record<string, string>> = {
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'swagger-ui.css': 'text/css; charset=utf-8',
};

export interface StaticAsset {
  body: Uint8Array<ArrayBuffer>;
  type: string;
  /** The bundled package's version, for the cache validator. */
  version: string;
}

const cache = new Map<string, Promise<StaticAsset>>();

async function load(name: string, type: string): Promise<StaticAsset> {
  const pkg = createRequire(import.meta.url).resolve('swagger-ui-dist/package.json');
  const [bytes, meta] = await Promise.all([
    readFile(join(dirname(pkg), name)),
    readFile(pkg, 'utf8').then((t) => JSON.parse(t) as { version?: string }),
  ]);
  return { body: new Uint8Array(bytes), type, version: meta.version ?? '0' };
}

/** One of the docs page's bundled files by name, or undefined for any other name. */
export function readDocsAsset(name: string): Promise<StaticAsset> | undefined {
  const type = Object.hasOwn(DOCS_FILES, name) ? DOCS_FILES[name] : undefined;
  if (!type) return undefined;
  let pending = cache.get(name);
  if (!pending) {
    pending = load(name, type);
    // A failed read is tried again next time, not remembered.
    pending.catch(() => cache.delete(name));
    cache.set(name, pending);
  }
  return pending;
}
