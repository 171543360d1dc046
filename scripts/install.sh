#!/usr/bin/env bash
# Installs videorecorder as a systemd user service for the user running it (on the Pi: the
# normal user, not root, not through sudo). See docs/raspberry-pi.md.
#
#   ./install.sh [--binary PATH] [--dry-run]    install or upgrade
#   ./install.sh --uninstall [--dry-run]        remove it again (config edits and clips stay)
#
# Idempotent: a second run changes nothing, and the user's config is never overwritten.
set -euo pipefail

NAME=videorecorder
UNIT="$NAME.service"
here="$(cd "$(dirname "$0")" && pwd)"

usage() {
  sed -n '2,8s/^# \{0,1\}//p' "$0"
}

dry_run=""
uninstall=""
binary=""
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) dry_run=1 ;;
    --uninstall) uninstall=1 ;;
    --binary)
      [ $# -ge 2 ] || { echo "install: --binary needs a path" >&2; exit 2; }
      binary="$2"
      shift
      ;;
    --binary=*) binary="${1#--binary=}" ;;
    -h | --help) usage; exit 0 ;;
    *) echo "install: unknown argument: $1 (try --help)" >&2; exit 2 ;;
  esac
  shift
done

say() { echo "install: $*"; }
warn() { echo "install: warning: $*" >&2; }
die() { echo "install: $*" >&2; exit 1; }

# Runs a command that changes something; with --dry-run only prints it.
act() {
  if [ -n "$dry_run" ]; then
    echo "[dry-run] $*"
  else
    say "$*"
    "$@"
  fi
}

as_root() {
  if [ "$(id -u)" -eq 0 ]; then act "$@"; else act sudo "$@"; fi
}

if [ "$(id -u)" -eq 0 ] && [ -n "${SUDO_USER:-}" ]; then
  die "run this as $SUDO_USER, without sudo: it installs a user service in \$HOME (it asks for sudo itself when it needs it)"
fi
user="$(id -un)"
[ -n "${HOME:-}" ] || die "HOME is not set"
# systemctl --user needs the user's runtime directory; `su` and `sudo -u` do not set it.
if [ -z "${XDG_RUNTIME_DIR:-}" ] && [ -d "/run/user/$(id -u)" ]; then
  XDG_RUNTIME_DIR="/run/user/$(id -u)"
  export XDG_RUNTIME_DIR
fi

# Fixed paths, not $XDG_CONFIG_HOME: the unit's ExecStart names %h/.config/videorecorder.
bin_dir="$HOME/.local/bin"
config_dir="$HOME/.config/$NAME"
config="$config_dir/config.json"
unit="$HOME/.config/systemd/user/$UNIT"
state_dir="$HOME/.local/state/$NAME"
# Present when this script enabled lingering, so --uninstall disables only what it enabled.
linger_marker="$state_dir/linger-enabled-by-install"

# The first of the given files that exists.
first_existing() {
  local path
  for path in "$@"; do
    if [ -f "$path" ]; then
      echo "$path"
      return 0
    fi
  done
  return 1
}

# The default config: the example, with its /home/pi/ paths moved to this user's home.
default_config() {
  local example
  example="$(first_existing "$here/config.example.json" "$here/../deploy/config.example.json")" ||
    die "config.example.json not found beside $0 or in ../deploy/"
  local text
  text="$(cat "$example")"
  printf '%s\n' "${text//\"\/home\/pi\//\"$HOME/}"
}

# Copies $1 to $2 with mode $3, through a temporary file and a rename, so a running binary is
# never written in place ("Text file busy"). Returns 1 when $2 already had that content.
place() {
  local from="$1" to="$2" mode="$3"
  if [ -f "$to" ] && cmp -s "$from" "$to"; then
    [ -n "$dry_run" ] || say "$to is up to date"
    return 1
  fi
  act mkdir -p "$(dirname "$to")"
  act install -m "$mode" "$from" "$to.new"
  act mv -f "$to.new" "$to"
  return 0
}

lingering() {
  [ "$(loginctl show-user "$user" --property=Linger --value 2>/dev/null || true)" = "yes" ]
}

check_platform() {
  local arch page
  arch="$(uname -m)"
  case "$arch" in
    aarch64 | arm64 | x86_64) ;;
    armv6l | armv7l | armhf)
      die "this is a 32-bit system ($arch): Deno needs a 64-bit OS. Install Raspberry Pi OS (64-bit) on a Pi Zero 2 W, 3, 4 or 5; the original Pi Zero / Zero W (ARMv6) cannot run it" ;;
    *) warn "untested architecture $arch" ;;
  esac
  page="$(getconf PAGESIZE 2>/dev/null || echo 4096)"
  if [ "$page" != 4096 ]; then
    die "the kernel uses ${page}-byte pages, and Deno (V8) crashes on them. On a Pi 5 add 'kernel=kernel8.img' to /boot/firmware/config.txt and reboot (see docs/raspberry-pi.md)"
  fi
}

check_tools() {
  if ! command -v ffmpeg >/dev/null 2>&1; then
    warn "ffmpeg is not installed; the recorder needs it. Install it with: sudo apt install ffmpeg"
  fi
  if ! command -v rpicam-vid >/dev/null 2>&1 && ! command -v libcamera-vid >/dev/null 2>&1; then
    warn "no Pi camera tool (rpicam-vid or libcamera-vid); for a Pi camera install it with: sudo apt install rpicam-apps. A USB camera (/dev/video0) needs none; without either, the recorder records a test pattern"
  fi
}

install_service() {
  if [ -z "$binary" ]; then
    binary="$(first_existing "$here/$NAME" "./$NAME" \
      "$here/../dist/$NAME-$(uname -m)-unknown-linux-gnu")" ||
      die "no $NAME binary beside $0 or in the current directory: pass --binary PATH"
  fi
  [ -f "$binary" ] || die "--binary $binary: no such file"
  check_platform
  if ! "$binary" --help >/dev/null 2>&1; then
    [ -x "$binary" ] || die "$binary is not executable (chmod +x it, or pass it with --binary)"
    die "$binary does not run here: is it built for $(uname -m)? (scripts/compile.sh builds $NAME-aarch64-unknown-linux-gnu for the Pi)"
  fi
  check_tools

  local changed=""
  place "$binary" "$bin_dir/$NAME" 0755 && changed=1

  local unit_source
  unit_source="$(first_existing "$here/$UNIT" "$here/../deploy/$UNIT")" ||
    die "$UNIT not found beside $0 or in ../deploy/"
  place "$unit_source" "$unit" 0644 && changed=1

  if [ -e "$config" ]; then
    say "keeping your config $config"
  else
    local tmp
    tmp="$(mktemp)"
    default_config >"$tmp"
    # 0600: the page saves settings here, and a password may be added to it.
    place "$tmp" "$config" 0600 || true
    rm -f "$tmp"
  fi

  # Without lingering the user's services start only when the user logs in, and stop when
  # the last session ends: a dashcam would not record after power-on.
  if lingering; then
    say "lingering is already enabled for $user"
  else
    as_root loginctl enable-linger "$user"
    act mkdir -p "$state_dir"
    act touch "$linger_marker"
  fi

  act systemctl --user daemon-reload
  # An upgrade takes effect now; does nothing when the service is not running.
  if [ -n "$changed" ]; then act systemctl --user try-restart "$UNIT"; fi
  # With Type=notify this waits until the recorder has frames from the camera.
  if ! act systemctl --user enable --now "$UNIT"; then
    die "$UNIT did not start; see: journalctl --user -u $NAME -e"
  fi

  if [ -z "$dry_run" ]; then
    local port
    port="$(sed -n 's/.*"port"[[:space:]]*:[[:space:]]*\([0-9]*\).*/\1/p' "$config" | head -n 1)"
    say "done. Open http://$(uname -n).local:${port:-8080}/ from a phone on the same network"
    say "logs: journalctl --user -u $NAME -f    status: systemctl --user status $NAME"
  fi
}

uninstall_service() {
  if [ -f "$unit" ]; then
    act systemctl --user disable --now "$UNIT" || warn "could not stop $UNIT"
    act rm -f "$unit"
    act systemctl --user daemon-reload
    act systemctl --user reset-failed "$UNIT" || true
  fi
  if [ -f "$bin_dir/$NAME" ]; then act rm -f "$bin_dir/$NAME"; fi
  if [ -f "$config" ]; then
    local tmp
    tmp="$(mktemp)"
    default_config >"$tmp"
    if cmp -s "$tmp" "$config"; then
      act rm -f "$config"
      act rmdir --ignore-fail-on-non-empty "$config_dir"
    else
      say "keeping your edited config $config"
    fi
    rm -f "$tmp"
  fi
  if [ -f "$linger_marker" ]; then
    as_root loginctl disable-linger "$user"
    act rm -f "$linger_marker"
    act rmdir --ignore-fail-on-non-empty "$state_dir"
  fi
  [ -n "$dry_run" ] || say "done. Recordings were not touched"
}

if [ -n "$uninstall" ]; then
  uninstall_service
else
  install_service
fi
