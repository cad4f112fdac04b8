// The `wafgen` command run from the TypeScript sources (through tsx), for tests that need real
// processes whatever state dist/ is in.
import { main } from '../../src/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
