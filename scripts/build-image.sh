#!/usr/bin/env bash
# Builds the collector image devo.com/collectors/darktrace:<version> (version from package.json)
# from docker/Dockerfile with podman or docker (whichever works here), and writes the documented
# archive collector-darktrace-docker-image-<version>.tgz (`gunzip -c <file> | docker load`).
#
# Usage: scripts/build-image.sh [--skip-build] [--local-base] [--no-archive]
#   --skip-build   use the existing dist/ instead of running `pnpm build` first
#   --local-base   make node:20-slim from this host first if it is not present
#                  (scripts/make-base-image.sh: for machines without registry access)
#   --no-archive   only build the image
# Environment:
#   ENGINE         podman | docker (default: podman if installed, else a working docker)
#   IMAGE_NAME     default devo.com/collectors/darktrace
#   IMAGE_TAG      default: the package.json version
#   ARCHIVE_DIR    where the .tgz goes (default: the repository root)
#   PULL           base image pull policy for podman (default missing; `never` offline)
# The last line printed is `image <name:tag>` (and `archive <path>` before it unless --no-archive).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

SKIP_BUILD=0 LOCAL_BASE=0 ARCHIVE=1
for arg in "$@"; do
  case "$arg" in
    --skip-build) SKIP_BUILD=1 ;;
    --local-base) LOCAL_BASE=1 ;;
    --no-archive) ARCHIVE=0 ;;
    -h | --help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-image: unknown option $arg" >&2; exit 2 ;;
  esac
done

if [ -z "${ENGINE:-}" ]; then
  if command -v podman >/dev/null 2>&1; then ENGINE=podman
  elif command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then ENGINE=docker
  else echo "build-image: neither podman nor a working docker engine is installed" >&2; exit 1
  fi
fi
export ENGINE

VERSION="$(node -p "require('./package.json').version")"
IMAGE_NAME="${IMAGE_NAME:-devo.com/collectors/darktrace}"
IMAGE_TAG="${IMAGE_TAG:-$VERSION}"
IMAGE="$IMAGE_NAME:$IMAGE_TAG"
ARCHIVE_DIR="${ARCHIVE_DIR:-$ROOT}"
ARCHIVE_FILE="$ARCHIVE_DIR/collector-darktrace-docker-image-$VERSION.tgz"

t0=$(date +%s)
if [ "$SKIP_BUILD" = 0 ]; then
  pnpm build
fi
for f in dist/main.js dist/main.js.map dist/collector_definitions.yaml; do
  [ -f "$f" ] || { echo "build-image: $f is missing: run pnpm build first" >&2; exit 1; }
done

if [ "$LOCAL_BASE" = 1 ]; then
  bash "$ROOT/scripts/make-base-image.sh"
fi

# A context with exactly what the Dockerfile copies (the same list as docker/Dockerfile.dockerignore),
# so no engine ever uploads node_modules, state/, certs/ or a real config.
CONTEXT="$(mktemp -d "${TMPDIR:-/tmp}/darktrace-image-context.XXXXXX")"
trap 'rm -rf "$CONTEXT"' EXIT
mkdir -p "$CONTEXT/dist" "$CONTEXT/config" "$CONTEXT/docker"
cp dist/main.js dist/main.js.map dist/collector_definitions.yaml "$CONTEXT/dist/"
cp config/config.example.yaml "$CONTEXT/config/"
cp -p docker/entrypoint.sh docker/healthcheck.sh docker/Dockerfile "$CONTEXT/docker/"

BUILD_TIME="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
REVISION="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
args=(build -f "$CONTEXT/docker/Dockerfile" -t "$IMAGE"
  --build-arg "VERSION=$VERSION" --build-arg "BUILD_TIME=$BUILD_TIME" --build-arg "REVISION=$REVISION"
  --network none)
if [ "$ENGINE" = podman ]; then
  # docker format: an OCI image would silently drop the HEALTHCHECK.
  args+=(--format docker --pull="${PULL:-missing}" --layers="${LAYERS:-true}")
  [ -n "${PODMAN_RUNTIME:-}" ] && args+=(--runtime "$PODMAN_RUNTIME")
fi
"$ENGINE" "${args[@]}" "$CONTEXT"
t1=$(date +%s)
size="$("$ENGINE" image inspect --format '{{.Size}}' "$IMAGE")"
echo "built $IMAGE ($((size / 1024 / 1024)) MiB) in $((t1 - t0)) s"

if [ "$ARCHIVE" = 1 ]; then
  mkdir -p "$ARCHIVE_DIR"
  gz=gzip; command -v pigz >/dev/null 2>&1 && gz=pigz
  if [ "$ENGINE" = podman ]; then
    podman save --format docker-archive "$IMAGE" | "$gz" -6 > "$ARCHIVE_FILE.part"
  else
    docker save "$IMAGE" | "$gz" -6 > "$ARCHIVE_FILE.part"
  fi
  mv "$ARCHIVE_FILE.part" "$ARCHIVE_FILE"
  echo "wrote $ARCHIVE_FILE ($(( $(stat -c %s "$ARCHIVE_FILE") / 1024 / 1024 )) MiB) in $(( $(date +%s) - t1 )) s; load it with: gunzip -c $(basename "$ARCHIVE_FILE") | docker load"
  echo "archive $ARCHIVE_FILE"
fi
echo "image $IMAGE"
