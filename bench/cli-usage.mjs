// Preloaded by bench/cli.ts into each measured process (`node --import`): at exit, the process's own
// CPU time and peak RSS, written where the bench asked. Nothing else.
import { writeFileSync } from 'node:fs';

const file = process.env.WAFGEN_BENCH_USAGE_FILE;
if (file) {
  process.on('exit', () => {
    const { userCPUTime, systemCPUTime, maxRSS } = process.resourceUsage();
    writeFileSync(file, JSON.stringify({ userCPUTime, systemCPUTime, maxRSS }));
  });
}
