#!/usr/bin/env bash
# Installs what videorecorder needs and is missing: ffmpeg (Debian package) and Deno 2 (from
# npm, since Deno's own download host may be unreachable). With --dev, also what the tests
# need: Debian's Chromium (browser tests), tesseract, gpsd and rclone. Idempotent; quiet when
# all is there.
set -euo pipefail
dev=""
[ "${1:-}" = "--dev" ] && dev=1

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

apt_updated=""
apt_install() {
  if [ -z "$apt_updated" ]; then
    echo "setup: apt-get update" >&2
    as_root apt-get update -qq
    apt_updated=1
  fi
  echo "setup: installing $*" >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

if ! command -v ffmpeg >/dev/null || ! command -v ffprobe >/dev/null; then
  apt_install ffmpeg
fi
if [ -n "$dev" ] && [ ! -x /usr/bin/chromium ]; then
  apt_install chromium
fi
# OpenCV, a client users play the live view with (Debian's python3, not another on PATH).
if [ -n "$dev" ] && ! /usr/bin/python3 -c "import cv2" 2>/dev/null; then
  apt_install python3-opencv
fi
# Node.js: the runtime of 32-bit Pis; its tests run the Node bundle on the host's Node.
if [ -n "$dev" ] && ! command -v node >/dev/null; then
  apt_install nodejs
fi
# systemd-analyze (unit file test) and systemd-notify (the notifier's fallback).
if [ -n "$dev" ] && ! command -v systemd-analyze >/dev/null; then
  apt_install systemd
fi
# Test-only tools from Debian: tesseract (reads the burned-in clock back from a recorded frame),
# gpsd and gpsfake (a real GPS daemon replaying an NMEA log), rclone (archive target servers).
if [ -n "$dev" ]; then
  missing=()
  command -v tesseract >/dev/null || missing+=(tesseract-ocr tesseract-ocr-eng)
  command -v gpsd >/dev/null || missing+=(gpsd)
  command -v gpsfake >/dev/null || missing+=(gpsd-clients python3-gps)
  command -v rclone >/dev/null || missing+=(rclone)
  if [ "${#missing[@]}" -gt 0 ]; then apt_install "${missing[@]}"; fi
fi

deno_major() { deno --version 2>/dev/null | sed -n 's/^deno \([0-9]*\)\..*/\1/p'; }
if [ "$(deno_major)" != "2" ]; then
  if ! command -v npm >/dev/null; then
    apt_install nodejs npm
  fi
  echo "setup: installing Deno 2 from npm" >&2
  as_root npm install -g --no-fund --no-audit "deno@^2" >/dev/null
  hash -r
  if [ "$(deno_major)" != "2" ]; then
    echo "setup: Deno 2 is still not on PATH after 'npm install -g deno'" >&2
    exit 1
  fi
fi
