#!/usr/bin/env bash
# The whole test suite on a fresh machine: install, typecheck, lint, build dist/, run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
pnpm typecheck
pnpm lint
pnpm build
pnpm exec vitest run "$@"
