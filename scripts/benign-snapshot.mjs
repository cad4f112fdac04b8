// Writes dist/benign-corpus.v8, the built-in benign corpus parsed once (run by `npm run build` and
// `prepare`, after tsc): compiled wafgen reads it instead of parsing data/benign.jsonl at every first
// generation (src/generation/benign.ts says what it saves and when it is ignored).
const { writeBenignSnapshot } = await import('../dist/generation/benign.js');
const started = performance.now();
try {
  const { file, bytes } = await writeBenignSnapshot();
  console.log(
    `benign snapshot: ${file} (${(bytes / 1e6).toFixed(1)} MB) in ${Math.round(performance.now() - started)} ms`,
  );
} catch (e) {
  // Only a speed-up: without it, the corpus is parsed. Never fail an install.
  console.warn(
    `benign snapshot not built (${e instanceof Error ? e.message : String(e)}); the corpus will be parsed`,
  );
}
