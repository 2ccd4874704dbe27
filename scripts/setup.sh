#!/usr/bin/env bash
# Installs what the collector, its demo and its tests need on a fresh Debian machine:
# pnpm (pinned), the workspace packages, rsyslog with TLS (the real Devo-side peer in tests),
# openssl (test certificates) and tinyproxy (the real forward proxy of the proxy tests).
# Idempotent and quiet when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
# --demo: only what scripts/demo.sh needs (pnpm and the workspace packages; no system packages).
demo_only=0
[ "${1:-}" = "--demo" ] && demo_only=1
if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version 2>/dev/null)" != "12.4.2" ]; then
  npm i -g pnpm@12.4.2 >/dev/null
fi
need_apt=()
command -v rsyslogd >/dev/null 2>&1 || need_apt+=(rsyslog)
[ -e /usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_gtls.so ] || ls /usr/lib/*/rsyslog/lmnsd_gtls.so >/dev/null 2>&1 || need_apt+=(rsyslog-gnutls)
command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)
command -v podman >/dev/null 2>&1 || need_apt+=(podman)   # test/container builds and runs the image
command -v runc >/dev/null 2>&1 || need_apt+=(runc)
[ -x /usr/bin/tinyproxy ] || need_apt+=(tinyproxy)   # tests start their own, with their own config
# test/deploy: promtool (rule checks and unit tests) and a real Prometheus scraping the collector;
# without its recommends (prometheus-node-exporter is not needed).
need_apt_norec=()
command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1 || need_apt_norec+=(prometheus)
if [ $((${#need_apt[@]} + ${#need_apt_norec[@]})) -gt 0 ] && [ "${SKIP_APT:-}" != "1" ] && [ "$demo_only" = "0" ]; then
  if [ "$(id -u)" = "0" ]; then
    apt-get update -qq >/dev/null
    [ ${#need_apt[@]} -eq 0 ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
    [ ${#need_apt_norec[@]} -eq 0 ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt_norec[@]}" >/dev/null
  else
    echo "missing system packages: ${need_apt[*]} ${need_apt_norec[*]} (run as root or install them)" >&2
  fi
fi
# test/deploy renders the Kubernetes manifests with `kubectl kustomize` (kustomize v5 fields): the
# machine image ships kubectl; Debian's kubernetes-client (1.20) is too old for them.
if [ "$demo_only" = "0" ] && ! command -v kubectl >/dev/null 2>&1; then
  echo "kubectl (1.27 or newer, for kubectl kustomize) is not installed: test/deploy needs it" >&2
fi
pnpm install --frozen-lockfile >/dev/null
