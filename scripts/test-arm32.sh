#!/usr/bin/env bash
# Runs JavaScript on Node.js as a 32-bit Raspberry Pi runs it: Debian bookworm's own `nodejs`
# for armel (built for ARMv6K + VFPv2, exactly the Pi Zero / Zero W's ARM1176JZF-S) under
# `qemu-arm-static -cpu arm1176`, and for armhf (a 32-bit Raspberry Pi OS on a Pi 2 or later)
# under `-cpu cortex-a7`. The program's children (ffmpeg) are the host's.
#
#   scripts/test-arm32.sh [--arch armel|armhf]... [FILE.mjs [ARGS...]]
#   scripts/test-arm32.sh --print-command ARCH    the command that runs that Node, one word a line
#
# With no FILE: a self-check (Node's version, process.arch, the ARM version it was built for),
# then the runtime self-check bundle (tests/runtime/_node_selfcheck.ts built with
# scripts/bundle.ts: spawn, Web streams, process groups, HTTP), then the app's smoke test
# (tests/deploy/_smoke.ts against dist/videorecorder.mjs from `deno task bundle`: test source,
# status, page, snapshot, live stream, one clip, SIGTERM closes it), on each architecture; and
# that the armhf Node dies of SIGILL under -cpu arm1176 (so the ARMv6 emulation is strict).
# With FILE: runs it with ARGS on each architecture; it passes when it exits 0.
#
# `nodejs` and its libraries are unpacked into a sysroot per architecture with apt-get's own
# state, cache and sources (`apt-get install --download-only`, then `dpkg-deb -x`): the host's
# dpkg is not touched (adding foreign architectures to it breaks on library versions). The
# sysroots are cached in ~/.cache/videorecorder/arm32, so only the first run downloads.
# Installs qemu-user-static on the host when missing. Ends with "arm32: N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."

SUITE=bookworm
MIRROR="${ARM32_MIRROR:-http://deb.debian.org/debian}"
SECURITY_MIRROR="${ARM32_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
cache="${XDG_CACHE_HOME:-$HOME/.cache}/videorecorder/arm32"

log() { echo "arm32: $*" >&2; }
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# The CPU each Debian architecture is built for, and the ARM version Node reports there.
cpu_of() {
  case "$1" in
    armel) echo arm1176 ;;
    armhf) echo cortex-a7 ;;
    *) log "unknown architecture '$1' (armel or armhf)"; exit 2 ;;
  esac
}
arm_version_of() {
  case "$1" in armel) echo 6 ;; armhf) echo 7 ;; esac
}

# Unpacks Debian's nodejs for $1 into $cache/$1/root (once); prints nothing on stdout.
ensure_sysroot() {
  local arch="$1" dir="$cache/$1"
  if [ -e "$dir/root/.complete" ]; then return; fi
  [ -r "$KEYRING" ] || { log "cannot verify Debian's packages: $KEYRING is missing"; exit 1; }
  log "$arch: fetching Debian $SUITE's nodejs and its libraries into $dir"
  local started apt state
  started=$(date +%s)
  apt="$dir/apt"
  rm -rf "$dir/root.new" "$apt"
  mkdir -p "$apt/etc/sources.list.d" "$apt/etc/preferences.d" "$apt/state/lists/partial" \
    "$apt/cache/archives/partial" "$apt/log" "$dir/root.new"
  cat >"$apt/etc/sources.list" <<EOF
deb [arch=$arch signed-by=$KEYRING] $MIRROR $SUITE main
deb [arch=$arch signed-by=$KEYRING] $MIRROR $SUITE-updates main
deb [arch=$arch signed-by=$KEYRING] $SECURITY_MIRROR $SUITE-security main
EOF
  state="$apt/state"
  : >"$state/status"
  # apt's own state: an empty dpkg status (so every dependency is fetched), its own lists,
  # cache and sources, and no lock on the host's dpkg. The host's apt.conf.d (proxies) applies.
  local opts=(
    -o "APT::Architecture=$arch" -o "APT::Architectures=$arch"
    -o "Dir::State=$state" -o "Dir::State::status=$state/status"
    -o "Dir::Cache=$apt/cache" -o "Dir::Log=$apt/log"
    -o "Dir::Etc::SourceList=$apt/etc/sources.list"
    -o "Dir::Etc::SourceParts=$apt/etc/sources.list.d"
    -o "Dir::Etc::Preferences=$apt/etc/preferences"
    -o "Dir::Etc::PreferencesParts=$apt/etc/preferences.d"
    -o "Debug::NoLocking=1" -o "APT::Sandbox::User=root"
  )
  local indexes
  indexes=$(apt-get "${opts[@]}" update | sed -n 's/^Fetched \([^ ]* [^ ]*\).*/\1/p')
  apt-get "${opts[@]}" -qq -y --no-install-recommends --download-only install nodejs >/dev/null
  local debs=("$apt"/cache/archives/*.deb)
  local bytes
  bytes=$(du -cb "${debs[@]}" | tail -n 1 | cut -f 1)
  for deb in "${debs[@]}"; do dpkg-deb -x "$deb" "$dir/root.new"; done
  # Bookworm's packages still put the loader and libc in /lib: qemu's -L prefix lets the
  # loader find /usr/lib/<triplet> but not /lib/<triplet>, so merge /lib into /usr/lib as a
  # merged-/usr system has it.
  if [ -d "$dir/root.new/lib" ] && [ ! -L "$dir/root.new/lib" ]; then
    cp -a "$dir/root.new/lib/." "$dir/root.new/usr/lib/"
    rm -rf "$dir/root.new/lib"
    ln -s usr/lib "$dir/root.new/lib"
  fi
  local version
  version=$(dpkg-deb -f "$apt"/cache/archives/nodejs_*.deb Version)
  printf 'nodejs %s\nindexes %s\npackages %s bytes (%s .deb)\nfetched in %s s\n' "$version" \
    "$indexes" "$bytes" "${#debs[@]}" "$(($(date +%s) - started))" >"$dir/root.new/.complete"
  rm -rf "$dir/root" "$apt"
  mv "$dir/root.new" "$dir/root"
  log "$arch: nodejs $version, indexes $indexes, $((bytes / 1024 / 1024)) MiB in ${#debs[@]}" \
    "packages, unpacked $(du -sm "$dir/root" | cut -f 1) MiB, took $(($(date +%s) - started)) s"
}

# The command that runs Node for $1, one word a line.
node_command() {
  local root="$cache/$1/root"
  printf '%s\n' qemu-arm-static -cpu "$(cpu_of "$1")" -L "$root" "$root/usr/bin/node"
}

print_command=""
arches=()
while [ $# -gt 0 ]; do
  case "$1" in
    --arch) arches+=("$2"); shift 2 ;;
    --print-command) print_command="$2"; shift 2 ;;
    -h | --help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) break ;;
  esac
done
[ ${#arches[@]} -gt 0 ] || arches=(armel armhf)

if ! command -v qemu-arm-static >/dev/null; then
  log "installing qemu-user-static"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    qemu-user-static >/dev/null
fi

if [ -n "$print_command" ]; then
  cpu_of "$print_command" >/dev/null
  ensure_sysroot "$print_command"
  node_command "$print_command"
  exit 0
fi

started=$(date +%s)
passed=0
failed=0
pass() { passed=$((passed + 1)); log "ok: $*"; }
fail() { failed=$((failed + 1)); log "FAILED: $*"; }

if [ $# -eq 0 ]; then
  bundle=dist/runtime-selfcheck.mjs
  deno run --allow-all scripts/bundle.ts tests/runtime/_node_selfcheck.ts "$bundle" >&2
  app=dist/videorecorder.mjs
  deno run --allow-all scripts/bundle.ts src/node_main.ts "$app" >&2
fi

for arch in "${arches[@]}"; do
  cpu_of "$arch" >/dev/null
  ensure_sysroot "$arch"
  mapfile -t node < <(node_command "$arch")
  if [ $# -gt 0 ]; then
    set +e
    "${node[@]}" "$@"
    status=$?
    set -e
    if [ "$status" -eq 0 ]; then pass "$arch: $1"; else fail "$arch: $1 exited with $status"; fi
    continue
  fi

  t0=$(date +%s%N)
  "${node[@]}" -e 0 || true
  t1=$(date +%s%N)
  line=$("${node[@]}" -e \
    'const v = process.config.variables; console.log(`${process.version} ${process.arch} arm_version=${v.arm_version} float_abi=${v.arm_float_abi} fpu=${v.arm_fpu}`)' \
    2>&1 || true)
  log "$arch: node $line under -cpu $(cpu_of "$arch"); 'node -e 0' took $(((t1 - t0) / 1000000)) ms"
  case "$line" in
    "v"*" arm arm_version=$(arm_version_of "$arch") "*) pass "$arch: node runs" ;;
    *) fail "$arch: expected an ARMv$(arm_version_of "$arch") Node, got: $line" ;;
  esac

  t0=$(date +%s%N)
  set +e
  "${node[@]}" "$bundle"
  status=$?
  set -e
  t1=$(date +%s%N)
  if [ "$status" -eq 0 ]; then
    pass "$arch: $bundle in $(((t1 - t0) / 1000000)) ms"
  else
    fail "$arch: $bundle exited with $status"
  fi

  # The app itself; emulated start-up takes seconds, so each wait gets 3 minutes.
  set +e
  smoke=$(deno run --allow-all tests/deploy/_smoke.ts --timeout 180 -- "${node[@]}" "$app" 2>&1)
  status=$?
  set -e
  if [ "$status" -eq 0 ]; then
    pass "$arch: app smoke test: $(tail -n 1 <<<"$smoke" | sed 's/^smoke: //')"
  else
    echo "$smoke" >&2
    fail "$arch: app smoke test of $app"
  fi
done
# The emulation is strict: the ARMv7 Node must die of an illegal instruction on the Pi Zero's
# CPU, or passing under -cpu arm1176 would prove nothing.
if [ $# -eq 0 ] && [ -e "$cache/armhf/root/.complete" ] && [[ " ${arches[*]} " == *" armel "* ]]; then
  root="$cache/armhf/root"
  # In a shell of its own, which keeps the "Illegal instruction" report to itself.
  status=$(sh -c '"$@"; echo $?' sh qemu-arm-static -cpu arm1176 -L "$root" "$root/usr/bin/node" \
    -e 0 2>/dev/null)
  if [ "$status" -eq 132 ]; then
    pass "armhf's Node dies of SIGILL under -cpu arm1176 (ARMv7 code is refused)"
  else
    fail "armhf's Node under -cpu arm1176 exited with $status, not SIGILL (132)"
  fi
fi
log "took $(($(date +%s) - started)) s"
echo "arm32: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
