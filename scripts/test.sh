#!/usr/bin/env bash
# The whole test suite on a fresh machine: install, typecheck, build dist/, run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
pnpm typecheck
pnpm build
pnpm exec vitest run "$@"
