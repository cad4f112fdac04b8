// The `wafgen` command from the TypeScript sources (through tsx), for the benchmarks' child processes.
import { main } from '../src/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
