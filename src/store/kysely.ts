// Kysely, as the store uses it. The compiled file (dist/store/kysely.js) is not tsc's re-export but
// one esbuild bundle of the packages (scripts/bundle-kysely.mjs, run after tsc): Kysely's ESM build
// is 264 files, and Node 20 resolves, reads and compiles each apart. `import('kysely')` took 246-468
// ms against 28-52 ms for the bundle (five fresh processes each, a shared 2-core machine), and a
// warm `wafgen generate CVE-2021-44228` ran at 0.90x the wall and 0.87x the CPU with it (medians of
// 10 alternating pairs' ratios, farm-bench; README, speed). Code run from src/ (tsx, tests) re-exports the packages as they are.
// The PGlite dialect is in the bundle too: its own `import 'kysely'` would load the 264 files again.
export * from 'kysely';
export { PGliteDialect } from 'kysely-pglite-dialect';
