#!/usr/bin/env node
// Entry point of the `wafgen` command. The TypeScript sources are compiled to dist/ by `npm install`
// (the `prepare` script); this file only hands over to the compiled CLI.
import { main } from '../dist/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
