#!/usr/bin/env bash
# The Lambda code asset for the CDK app (infra/app.ts reads WAFGEN_CODE_DIR, default infra/.build/lambda):
# the compiled dist/ (built first), data/, and production dependencies only, installed from the lockfile.
set -euo pipefail
cd "$(dirname "$0")/.."
out=infra/.build/lambda
npm run build
rm -rf "$out"
mkdir -p "$out"
cp -R dist data package.json package-lock.json "$out/"
(cd "$out" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund)
echo "Lambda bundle: $out ($(du -sh "$out" | cut -f1))"
