#!/usr/bin/env bash
# Stamps one kustomize overlay per Darktrace instance from a list (docs/deployment.md, "Fifty
# tenants"):
#
#   deploy/kubernetes/stamp-tenants.sh TENANTS_FILE OUT_DIR
#
# TENANTS_FILE: one tenant a line, `<name> <darktrace instance> [<devo address>]` (# comments and
# blank lines skipped; name: lower-case letters, digits, '-'; devo address default
# collector-eu.devo.io). For each tenant it writes OUT_DIR/<name>/kustomization.yaml (the base with
# the tenant's name suffix and selector label, its config patch, and a secretGenerator that reads
# the real tokens and certificates from OUT_DIR/<name>/secrets/, which you fill and never commit)
# and OUT_DIR/<name>/config.yaml (from examples/two-tenants/tenant-a/config.yaml); then
# OUT_DIR/kustomization.yaml listing every tenant. Existing secrets/ contents are kept.
# Then: kubectl apply -k OUT_DIR
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
[ $# -eq 2 ] || { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
TENANTS_FILE="$1"
OUT="$2"
TEMPLATE="$HERE/examples/two-tenants/tenant-a/config.yaml"
mkdir -p "$OUT"
names=()
lineno=0
while read -r name instance devo _rest || [ -n "${name:-}" ]; do
  lineno=$((lineno + 1))
  case "${name:-}" in '' | '#'*) continue ;; esac
  if ! [[ "$name" =~ ^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$ ]] || [ -z "${instance:-}" ]; then
    echo "stamp-tenants: $TENANTS_FILE line $lineno: expected '<name> <instance> [<devo address>]' with a name of a-z, 0-9, '-' (got: $name ${instance:-})" >&2
    exit 2
  fi
  for n in "${names[@]}"; do
    [ "$n" != "$name" ] || { echo "stamp-tenants: $TENANTS_FILE line $lineno: tenant $name listed twice" >&2; exit 2; }
  done
  names+=("$name")
  d="$OUT/$name"
  mkdir -p "$d/secrets"
  base="$(realpath -m --relative-to="$d" "$HERE/base")"
  cat > "$d/kustomization.yaml" <<EOF
# Tenant $name (made by deploy/kubernetes/stamp-tenants.sh). secrets/ holds the real values: never commit it.
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
nameSuffix: -$name
labels:
  - pairs:
      app.kubernetes.io/instance: darktrace-$name
    includeSelectors: true
resources:
  - $base
patches:
  - path: config.yaml
secretGenerator:
  - name: darktrace-collector-tokens
    behavior: replace
    envs: [secrets/tokens.env]          # public_token=...  private_token=...
  - name: darktrace-collector-devo-certs
    behavior: replace
    files: [chain.crt=secrets/chain.crt, devo.crt=secrets/devo.crt, devo.key=secrets/devo.key]
EOF
  sed -e "s/^# acme's config.yaml.*/# $name's config.yaml (made by stamp-tenants.sh; docs\/configuration.md)./" \
      -e "s/id: \"acme\"/id: \"$name\"/" -e "s/id: \"a\"/id: \"$name\"/" -e "s/darktrace-acme/darktrace-$name/" \
      -e "s/\"dt-acme.example.net\"/\"$instance\"/" -e "s/collector-eu.devo.io/${devo:-collector-eu.devo.io}/" \
      "$TEMPLATE" > "$d/config.yaml"
  [ -e "$d/secrets/.gitignore" ] || printf '*\n' > "$d/secrets/.gitignore"
done < "$TENANTS_FILE"
[ ${#names[@]} -gt 0 ] || { echo "stamp-tenants: no tenant in $TENANTS_FILE" >&2; exit 2; }
{
  echo "# Every tenant of $(basename "$TENANTS_FILE") (made by deploy/kubernetes/stamp-tenants.sh)."
  echo "apiVersion: kustomize.config.k8s.io/v1beta1"
  echo "kind: Kustomization"
  echo "resources:"
  for n in "${names[@]}"; do echo "  - $n"; done
} > "$OUT/kustomization.yaml"
echo "stamped ${#names[@]} tenants in $OUT"
