#!/usr/bin/env bash
# Proves the recorder runs on aarch64 (a Raspberry Pi with a 64-bit OS): runs the smoke test
# (tests/deploy/_smoke.ts: start with the test source, status, page, snapshot, stream, one clip,
# SIGTERM, exit 0, clips play) with the aarch64 Deno from npm under qemu-user, with exactly the
# permission flags compiled into the binary. The recorder's children (ffmpeg) are the host's.
#
# Installs what is missing: qemu-user-static and the arm64 C library (Debian packages), and
# the npm package @deno/linux-arm64-glibc of the host Deno's version (cached in
# ~/.cache/videorecorder). Ends with "aarch64: 1 passed, 0 failed" or "... 0 passed, 1 failed".
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}
apt_updated=""
apt_install() {
  if [ -z "$apt_updated" ]; then
    echo "aarch64: apt-get update" >&2
    as_root apt-get update -qq
    apt_updated=1
  fi
  echo "aarch64: installing $*" >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" \
    >/dev/null
}
started=$(date +%s)

# qemu-user runs one aarch64 program on this x86_64 kernel; no binfmt registration needed, as
# qemu is called by name.
command -v qemu-aarch64-static >/dev/null || apt_install qemu-user-static

# The arm64 C library: Debian's libc6:arm64 when it is installed (multiarch, found at the
# standard paths), else the same libc as Debian's cross package in /usr/aarch64-linux-gnu, which
# needs no foreign architecture added to dpkg. Deno also links libgcc_s.
qemu=(qemu-aarch64-static)
if [ ! -e /lib/ld-linux-aarch64.so.1 ]; then
  prefix=/usr/aarch64-linux-gnu
  if [ ! -e "$prefix/lib/ld-linux-aarch64.so.1" ] || [ ! -e "$prefix/lib/libgcc_s.so.1" ]; then
    apt_install libc6-arm64-cross libgcc-s1-arm64-cross
  fi
  qemu+=(-L "$prefix")
fi

version="$(deno --version | sed -n 's/^deno \([0-9][0-9.]*\).*/\1/p')"
[ -n "$version" ] || { echo "aarch64: cannot tell the host's Deno version" >&2; exit 1; }
cache="${XDG_CACHE_HOME:-$HOME/.cache}/videorecorder/deno-$version-aarch64-unknown-linux-gnu"
deno_arm64="$cache/deno"
if [ ! -x "$deno_arm64" ]; then
  echo "aarch64: fetching @deno/linux-arm64-glibc@$version from npm" >&2
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "@deno/linux-arm64-glibc@$version" >/dev/null)
  tar -xzf "$tmp"/deno-linux-arm64-glibc-*.tgz -C "$tmp"
  mkdir -p "$cache"
  install -m 0755 "$tmp/package/deno" "$deno_arm64.new"
  mv -f "$deno_arm64.new" "$deno_arm64"
fi

arch="$("${qemu[@]}" "$deno_arm64" --version | head -n 1)"
echo "aarch64: $arch under ${qemu[*]}" >&2
case "$arch" in
  *aarch64-unknown-linux-gnu*) ;;
  *) echo "aarch64: expected an aarch64 Deno, got: $arch" >&2; exit 1 ;;
esac

mapfile -t flags < <(bash scripts/compile.sh --print-flags)
set +e
# Generous timeouts: under emulation start-up alone takes seconds.
deno run --allow-all tests/deploy/_smoke.ts --timeout 300 -- \
  "${qemu[@]}" "$deno_arm64" run "${flags[@]}" mod.ts
status=$?
set -e
echo "aarch64: took $(($(date +%s) - started)) s" >&2
if [ "$status" -eq 0 ]; then
  echo "aarch64: 1 passed, 0 failed"
else
  echo "aarch64: 0 passed, 1 failed"
fi
exit "$status"
