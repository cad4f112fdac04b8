#!/usr/bin/env bash
# The Lambda code asset for the CDK app (infra/app.ts reads WAFGEN_CODE_DIR, default infra/.build/lambda):
# the compiled dist/ (built first) without the embedded-database templates (the functions use
# DynamoDB), data/, and production dependencies only, installed from the lockfile, without type
# declarations, source maps and markdown. Lambda takes at most 250 MB unzipped: measured on
# 2026-12-05, production node_modules was 195 MB as installed and 116 MB pruned, dist/ 89 MB with
# the templates and 13 MB without, data/ 6 MB.
set -euo pipefail
cd "$(dirname "$0")/.."
out=infra/.build/lambda
npm run build
rm -rf "$out"
mkdir -p "$out/dist"
tar -C dist --exclude='pglite-template*' -cf - . | tar -C "$out/dist" -xf -
cp -R data package.json package-lock.json "$out/"
(cd "$out" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund)
find "$out/node_modules" -type f \( -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.map' -o -name '*.md' \) -delete
size=$(du -sm "$out" | cut -f1)
echo "Lambda bundle: $out (${size} MB)"
if [ "$size" -ge 250 ]; then
  echo "over Lambda's 250 MB unzipped limit" >&2
  exit 1
fi
