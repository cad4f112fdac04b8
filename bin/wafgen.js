#!/usr/bin/env node
// Entry point of the `wafgen` command. The TypeScript sources are compiled to dist/ by `npm install`
// (the `prepare` script); this file only hands over to the compiled CLI.
const argv = process.argv.slice(2);
// `wafgen serve` runs in a node started with flags of its own (V8 heap sizes, read only at start-up).
const relaunched =
  argv[0] === 'serve'
    ? await import('../dist/cli/commands/serve.js').then((m) => m.relaunchServe(argv, process.argv[1]))
    : undefined;
process.exitCode = relaunched ?? (await (await import('../dist/cli/main.js')).main(argv));
