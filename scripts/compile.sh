#!/usr/bin/env bash
# Builds self-contained videorecorder binaries with `deno compile`, web/ embedded, and a
# bundle per target to copy to the Pi (binary, install.sh, unit, example config, docs); target
# "node" is the Node.js bundle for a 32-bit OS or a Pi Zero, where Deno does not run:
#
#   scripts/compile.sh [TARGET...]     default: node aarch64-unknown-linux-gnu x86_64-unknown-linux-gnu
#   scripts/compile.sh --node-only     only the Node.js bundle (needs no download)
#   scripts/compile.sh --print-flags   the permission and unstable flags baked in, one a line
#
# Output: dist/videorecorder-TARGET and dist/videorecorder-TARGET.tar.gz; for node,
# dist/videorecorder.mjs and dist/videorecorder-node.tar.gz (--out-dir DIR: in DIR).
#
# deno compile downloads the runtime it embeds ("denort") for each target. Where that
# download is blocked, get denort-TARGET.zip of the same Deno version elsewhere, unzip it, and
# pass it in DENORT_BIN, one target at a time:
#
#   DENORT_BIN=/path/to/denort scripts/compile.sh aarch64-unknown-linux-gnu
set -euo pipefail
cd "$(dirname "$0")/.."

# What the app does, and nothing more (no -A): spawns rpicam-vid / ffmpeg / sh / vcgencmd /
# systemd-notify (run); reads its config, web/, /proc and /sys, and writes the recordings (read,
# write); serves HTTP and sends to systemd's notify socket (net, and --unstable-net for
# Deno.listenDatagram); reads PATH, HOME, NOTIFY_SOCKET, WATCHDOG_USEC (env); lists the network
# addresses to print the page's URLs, and asks the disk's free space (sys).
# tests/deploy/smoke_test.ts runs the app with exactly these flags.
FLAGS=(
  --allow-read
  --allow-write
  --allow-run
  --allow-net
  --allow-env
  --allow-sys
  --unstable-net
  # A smaller young generation: peak RSS 91 -> 68 MB in the bench, no CPU cost seen.
  --v8-flags=--max-semi-space-size=1
)
ALL_TARGETS=(node aarch64-unknown-linux-gnu x86_64-unknown-linux-gnu)

out_dir=dist
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --print-flags) printf '%s\n' "${FLAGS[@]}"; exit 0 ;;
    -h | --help) sed -n '2,19s/^# \{0,1\}//p' "$0"; exit 0 ;;
    --node-only) targets+=(node) ;;
    --out-dir)
      [ $# -ge 2 ] || { echo "compile: --out-dir needs a directory" >&2; exit 2; }
      out_dir="$2"
      shift
      ;;
    -*) echo "compile: unknown option $1 (try --help)" >&2; exit 2 ;;
    *) targets+=("$1") ;;
  esac
  shift
done
[ ${#targets[@]} -gt 0 ] || targets=("${ALL_TARGETS[@]}")
for target in "${targets[@]}"; do
  case " ${ALL_TARGETS[*]} " in
    *" $target "*) ;;
    *) echo "compile: unknown target $target (expected one of: ${ALL_TARGETS[*]})" >&2; exit 2 ;;
  esac
done

# The Deno targets; node is built by itself, first: it works offline.
build_node=""
deno_targets=()
for target in "${targets[@]}"; do
  if [ "$target" = node ]; then build_node=1; else deno_targets+=("$target"); fi
done

deno_version="$(deno --version | sed -n 's/^deno \([0-9][0-9.]*\).*/\1/p')"
if [ -n "${DENORT_BIN:-}" ]; then
  if [ ${#deno_targets[@]} -ne 1 ]; then
    echo "compile: DENORT_BIN is the runtime of one target: name that target, e.g." >&2
    echo "  DENORT_BIN=$DENORT_BIN scripts/compile.sh aarch64-unknown-linux-gnu" >&2
    exit 2
  fi
  if [ ! -f "$DENORT_BIN" ]; then
    echo "compile: DENORT_BIN=$DENORT_BIN: no such file" >&2
    exit 2
  fi
  echo "compile: using DENORT_BIN=$DENORT_BIN (it must be denort $deno_version for ${deno_targets[0]})" >&2
fi

mkdir -p "$out_dir"

# Packs $2 and what install.sh needs beside it, flat in videorecorder/, as $1.
pack() {
  local archive="$1" program="$2" name="$3" kit
  kit="$(mktemp -d)"
  mkdir "$kit/videorecorder"
  cp "$program" "$kit/videorecorder/$name"
  cp scripts/install.sh deploy/videorecorder.service deploy/config.example.json \
    docs/raspberry-pi.md "$kit/videorecorder/"
  tar -czf "$archive" -C "$kit" videorecorder
  rm -rf "$kit"
  echo "compile: $archive" >&2
}

if [ -n "$build_node" ]; then
  # All code, Hono and the page in one file for Node.js >= 18.19 (scripts/bundle.ts).
  echo "compile: $out_dir/videorecorder.mjs" >&2
  deno run --allow-all scripts/bundle.ts src/node_main.ts "$out_dir/videorecorder.mjs" ||
    { echo "compile: the Node.js bundle failed (see above)" >&2; exit 1; }
  pack "$out_dir/videorecorder-node.tar.gz" "$out_dir/videorecorder.mjs" videorecorder.mjs
fi

for target in "${deno_targets[@]}"; do
  out="$out_dir/videorecorder-$target"
  echo "compile: $out" >&2
  log="$(mktemp)"
  set +e
  # --exclude-unused-npm: only what mod.ts imports goes in (test-only npm packages stay out).
  deno compile --target "$target" --include web --exclude-unused-npm --output "$out" \
    "${FLAGS[@]}" mod.ts 2>&1 | tee "$log" >&2
  status=${PIPESTATUS[0]}
  set -e
  if [ "$status" -ne 0 ]; then
    if grep -qiE 'denort|error sending request|dns error' "$log"; then
      cat >&2 <<EOF

compile: cannot get denort for $target: deno compile downloads it, and the download failed.
  On a machine with internet access, download denort-$target.zip of Deno $deno_version
  (https://github.com/denoland/deno/releases/tag/v$deno_version), unzip it, copy denort here,
  and run:
    DENORT_BIN=/path/to/denort scripts/compile.sh $target
EOF
    else
      echo "compile: deno compile failed for $target (see above)" >&2
    fi
    rm -f "$log"
    exit 1
  fi
  rm -f "$log"

  # The bundle: everything install.sh needs, flat in one directory.
  pack "$out.tar.gz" "$out" videorecorder
done
