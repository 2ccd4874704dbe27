#!/usr/bin/env bash
# The collector's main job on its built-in demo: the Darktrace simulator as the appliance, the
# collector with config/demo.yaml, events printed by the console output. Stops after
# DEMO_SECONDS (default 20) or on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --demo   # the demo needs pnpm and the node packages only
pnpm build >/dev/null
exec node scripts/demo.mjs
