#!/bin/sh
# Entrypoint of the devo-collector-darktrace image.
#
# `exec` replaces this shell with node, so the collector is PID 1 and receives the SIGTERM of
# `docker stop` / `podman stop` / Kubernetes directly: it stops in a controlled way (pullers stop,
# in-flight batches are spooled and acknowledged, state is saved, workers exit) within
# globals.shutdown_grace_period_in_sec (default 10 s) and exits 0. Give the engine a longer stop
# timeout than that (compose: stop_grace_period 15s; docker run/stop: -t 15).
#
#   (no arguments)          node --lite-mode --no-expose-wasm dist/main.js --config "$CONFIG_FILE"
#   --validate, --debug...  options are appended to that command line
#   sh, node ...            anything else is run instead of the collector (debugging)
#
# CONFIG_FILE (default config.yaml) is looked up in /devo-collector, then /devo-collector/config.
# CONFIG_FILE set to an empty value, or no such file while both Collector Server files
# (/etc/devo/job/job_config.json, /etc/devo/collector/collector_config.json) exist, starts the
# collector in Collector Server mode.
# --lite-mode (no JIT, a small heap) is for the supervisor alone, which only routes messages: ~17 MB
# less RSS at a burst (docs/BENCHMARKS.md, "Memory"); it does not pass it on to its two workers.
# --no-expose-wasm only silences V8's warning that lite mode has no WebAssembly.
set -eu
cd /devo-collector

case "${1:-}" in
  '' | -*) ;;
  *) exec "$@" ;;
esac

if [ -d state ] && [ ! -w state ]; then
  uid="$(id -u 2>/dev/null || echo 1000)"
  echo "WARNING: /devo-collector/state is not writable by uid ${uid}: persisted state cannot be saved." \
    "On the host, run: chown -R ${uid}:${uid} state" >&2
fi

for f in config/* certs/*; do
  if [ -f "$f" ] && [ ! -r "$f" ]; then
    echo "WARNING: /devo-collector/$f is not readable by uid $(id -u 2>/dev/null || echo 1000)." \
      "On the host, give it to that user (chown) or make it group/world readable." >&2
  fi
done

JOB_CONFIG=/etc/devo/job/job_config.json
COLLECTOR_CONFIG=/etc/devo/collector/collector_config.json
config_exists() {
  case "$1" in
    /*) [ -f "$1" ] ;;
    *) [ -f "$1" ] || [ -f "config/$1" ] ;;
  esac
}

if [ -n "${CONFIG_FILE:-}" ] && { config_exists "$CONFIG_FILE" || [ ! -f "$JOB_CONFIG" ] || [ ! -f "$COLLECTOR_CONFIG" ]; }; then
  exec node --lite-mode --no-expose-wasm /devo-collector/dist/main.js --config "$CONFIG_FILE" "$@"
fi
exec node --lite-mode --no-expose-wasm /devo-collector/dist/main.js "$@"
