#!/usr/bin/env bash
# Makes a stand-in for the `node:20-slim` base image from THIS host, for machines that cannot pull
# from a registry (CI, air-gapped build hosts). It assembles a minimal root file system -- the host's
# node binary (major version 20), the shared libraries `ldd` lists for it, /bin/sh (dash), the few
# coreutils the Dockerfile's RUN lines use, getconf, /etc/ssl/certs, a passwd/group with the non-root user
# `node` (1000:1000) as in the official image, /tmp -- and `podman import`s (or `docker import`s) it
# under the official name, so docker/Dockerfile still says `FROM node:20-slim` and builds unchanged
# where a registry exists.
#
# Usage: scripts/make-base-image.sh [--force]
#   BASE_IMAGE   tag to create (default docker.io/library/node:20-slim)
#   NODE_BIN     node binary to put in the image (default: `command -v node`)
#   ENGINE       podman or docker (default: podman if installed, else a working docker)
# Without --force an image already present under BASE_IMAGE (e.g. the real one) is left alone.
# Prints `created <tag>` or `present <tag>` as its last line.
set -euo pipefail

BASE_IMAGE="${BASE_IMAGE:-docker.io/library/node:20-slim}"
NODE_BIN="${NODE_BIN:-$(command -v node || true)}"
FORCE=0
[ "${1:-}" = "--force" ] && FORCE=1

if [ -z "${ENGINE:-}" ]; then
  if command -v podman >/dev/null 2>&1; then ENGINE=podman
  elif command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then ENGINE=docker
  else echo "make-base-image: neither podman nor a working docker engine is installed" >&2; exit 1
  fi
fi

OLD_ID="$("$ENGINE" image inspect --format '{{.Id}}' "$BASE_IMAGE" 2>/dev/null || true)"
if [ "$FORCE" = 0 ] && [ -n "$OLD_ID" ]; then
  echo "present $BASE_IMAGE"
  exit 0
fi

[ -n "$NODE_BIN" ] && [ -x "$NODE_BIN" ] || { echo "make-base-image: no node binary (set NODE_BIN)" >&2; exit 1; }
NODE_VERSION="$("$NODE_BIN" -p 'process.versions.node')"
case "$BASE_IMAGE" in
  *node:20*) [ "${NODE_VERSION%%.*}" = 20 ] || { echo "make-base-image: $NODE_BIN is node $NODE_VERSION, $BASE_IMAGE needs node 20" >&2; exit 1; } ;;
esac

ROOTFS="$(mktemp -d "${TMPDIR:-/tmp}/node-base-rootfs.XXXXXX")"
trap 'rm -rf "$ROOTFS"' EXIT

# Merged-/usr layout like Debian bookworm: /bin, /lib, /lib64, /sbin are links into /usr.
mkdir -p "$ROOTFS"/usr/{bin,sbin,lib,lib64,local/bin} "$ROOTFS"/{etc,tmp,root,home/node,proc,sys,dev,run,var/tmp}
for d in bin sbin lib lib64; do ln -s "usr/$d" "$ROOTFS/$d"; done
chmod 1777 "$ROOTFS/tmp" "$ROOTFS/var/tmp"
chmod 0700 "$ROOTFS/root"

# Copies a host file (dereferenced) to the same path in the rootfs; the rootfs links above make
# /lib/... land in /usr/lib/... exactly as on the host.
add_file() {
  local src="$1" dest="$ROOTFS${2:-$1}"
  mkdir -p "$(dirname "$dest")"
  cp -L "$src" "$dest"
}
# A binary and every library (and the loader) it links against.
add_binary() {
  local src="$1" dest="${2:-$1}"
  add_file "$src" "$dest"
  ldd "$src" 2>/dev/null | awk '/=> \// { print $3 } /^[ \t]*\// { print $1 }' | while read -r lib; do
    [ -e "$ROOTFS$lib" ] || add_file "$lib"
  done
}

add_binary "$NODE_BIN" /usr/local/bin/node
SH="$(readlink -f "$(command -v dash || command -v sh)")"
add_binary "$SH" /usr/bin/dash
ln -sf dash "$ROOTFS/usr/bin/sh"
# getconf: pidusage (process metrics) runs `getconf PAGESIZE` and `getconf CLK_TCK`.
for tool in mkdir chown chmod ln rm cp mv cat ls id env sleep true getconf; do
  path="$(type -P "$tool" || true)"
  [ -n "$path" ] && add_binary "$(readlink -f "$path")" "/usr/bin/$tool"
done

# CA certificates (node has its own bundle; this is for tools and NODE_EXTRA_CA_CERTS users).
if [ -d /etc/ssl/certs ]; then
  mkdir -p "$ROOTFS/etc/ssl"
  cp -rL /etc/ssl/certs "$ROOTFS/etc/ssl/certs" 2>/dev/null || true
fi

cat > "$ROOTFS/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
node:x:1000:1000::/home/node:/bin/sh
EOF
cat > "$ROOTFS/etc/group" <<'EOF'
root:x:0:
nogroup:x:65534:
node:x:1000:
EOF
printf 'passwd: files\ngroup: files\nhosts: files dns\n' > "$ROOTFS/etc/nsswitch.conf"
printf '127.0.0.1 localhost\n::1 localhost\n' > "$ROOTFS/etc/hosts"
cat > "$ROOTFS/etc/os-release" <<EOF
PRETTY_NAME="node:20-slim stand-in made by scripts/make-base-image.sh (node $NODE_VERSION)"
ID=devo-node-base
VERSION_ID="$NODE_VERSION"
EOF
if [ "$(id -u)" = 0 ]; then chown 1000:1000 "$ROOTFS/home/node"; fi

# The official image's runtime settings that matter to a Dockerfile built on it.
quiet=(); [ "$ENGINE" = podman ] && quiet=(--quiet)
tar --numeric-owner -C "$ROOTFS" -cf - . | "$ENGINE" import "${quiet[@]}" \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change "ENV NODE_VERSION=$NODE_VERSION" \
  --change 'CMD ["node"]' \
  - "$BASE_IMAGE" >/dev/null
# --force: drop the image the tag pointed to before, unless something still uses it.
[ -n "$OLD_ID" ] && "$ENGINE" rmi "$OLD_ID" >/dev/null 2>&1 || true
echo "created $BASE_IMAGE"
