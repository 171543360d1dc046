#!/usr/bin/env bash
# Installs videorecorder as a systemd user service for the user running it (on the Pi: the
# normal user, not root, not through sudo). See docs/raspberry-pi.md.
#
#   ./install.sh [--binary PATH] [--dry-run]    install or upgrade
#   ./install.sh --uninstall [--dry-run]        remove it again (config edits and clips stay)
#   ./install.sh --hotspot SSID PASSWORD [--dry-run]
#                    make the Pi a Wi-Fi access point (NetworkManager) for the phone in the car,
#                    used when no known network is in range; the page is then at 10.42.0.1
#   ./install.sh --no-hotspot [--dry-run]       remove that access point again
#
# The runtime follows the system: a 64-bit userland (arm64, amd64) gets the Deno binary
# (--binary PATH, default: videorecorder beside this script); a 32-bit one (armhf, armel) or an
# ARMv6 CPU gets the Node.js bundle (--bundle PATH, default: videorecorder.mjs beside this
# script) and Node.js >= 18.19, which apt installs when it is missing. --runtime deno|node
# overrides the choice. Idempotent: a second run changes nothing, and the user's config is never
# overwritten.
set -euo pipefail

NAME=videorecorder
UNIT="$NAME.service"
here="$(cd "$(dirname "$0")" && pwd)"

usage() {
  sed -n '2,18s/^# \{0,1\}//p' "$0"
}

dry_run=""
uninstall=""
binary=""
bundle=""
runtime=""
hotspot=""
hotspot_ssid=""
hotspot_password=""
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) dry_run=1 ;;
    --hotspot)
      [ $# -ge 3 ] || { echo "install: --hotspot needs the network's name and password: --hotspot SSID PASSWORD" >&2; exit 2; }
      hotspot=add
      hotspot_ssid="$2"
      hotspot_password="$3"
      shift 2
      ;;
    --no-hotspot) hotspot=remove ;;
    --uninstall) uninstall=1 ;;
    --binary)
      [ $# -ge 2 ] || { echo "install: --binary needs a path" >&2; exit 2; }
      binary="$2"
      shift
      ;;
    --binary=*) binary="${1#--binary=}" ;;
    --bundle)
      [ $# -ge 2 ] || { echo "install: --bundle needs a path" >&2; exit 2; }
      bundle="$2"
      shift
      ;;
    --bundle=*) bundle="${1#--bundle=}" ;;
    --runtime)
      [ $# -ge 2 ] || { echo "install: --runtime needs deno or node" >&2; exit 2; }
      runtime="$2"
      shift
      ;;
    --runtime=*) runtime="${1#--runtime=}" ;;
    -h | --help) usage; exit 0 ;;
    *) echo "install: unknown argument: $1 (try --help)" >&2; exit 2 ;;
  esac
  shift
done
case "$runtime" in
  "" | deno | node) ;;
  *) echo "install: --runtime must be deno or node, not $runtime" >&2; exit 2 ;;
esac

say() { echo "install: $*"; }
warn() { echo "install: warning: $*" >&2; }
die() { echo "install: $*" >&2; exit 1; }

# Never printed: act shows it as ********.
secret=""

# Runs a command that changes something; with --dry-run only prints it.
act() {
  local shown="$*"
  if [ -n "$secret" ]; then shown="${shown//"$secret"/********}"; fi
  if [ -n "$dry_run" ]; then
    echo "[dry-run] $shown"
  else
    say "$shown"
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
# The Node bundle's home; the unit's ExecStart names it when the runtime is Node.
lib_dir="$HOME/.local/lib/$NAME"
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

# Sets $runtime unless --runtime gave it: deno where Deno runs (a 64-bit userland), node on a
# 32-bit userland or an ARMv6 CPU. dpkg decides before uname: a 64-bit kernel under a 32-bit
# Raspberry Pi OS says aarch64, but its programs are armhf.
pick_runtime() {
  local cpu userland
  cpu="$(uname -m)"
  userland="$(dpkg --print-architecture 2>/dev/null || true)"
  if [ -n "$runtime" ]; then
    say "runtime $runtime (--runtime; CPU $cpu, userland ${userland:-unknown})"
    return 0
  fi
  case "$cpu" in
    armv6l | armv6*)
      # The original Pi Zero / Zero W and Pi 1: V8 has no ARMv6 build for Deno.
      runtime=node ;;
    *)
      case "${userland:-$cpu}" in
        arm64 | amd64 | aarch64 | x86_64) runtime=deno ;;
        armhf | armel | arm | armv7l | armv8l) runtime=node ;;
        *)
          warn "untested system (CPU $cpu, userland ${userland:-unknown}): trying the Deno binary"
          runtime=deno ;;
      esac ;;
  esac
  if [ "$runtime" = node ]; then
    say "CPU $cpu, userland ${userland:-unknown}: Deno has no 32-bit ARM build, so the recorder runs on Node.js"
  fi
}

check_platform() {
  local page
  page="$(getconf PAGESIZE 2>/dev/null || echo 4096)"
  if [ "$page" != 4096 ]; then
    die "the kernel uses ${page}-byte pages, and Deno (V8) crashes on them. On a Pi 5 add 'kernel=kernel8.img' to /boot/firmware/config.txt and reboot (see docs/raspberry-pi.md)"
  fi
}

# The oldest Node.js the bundle runs on (Raspberry Pi OS Bookworm's apt has 18.19).
NODE_MIN_MAJOR=18
NODE_MIN_MINOR=19
NODE_FIX="sudo apt update && sudo apt install nodejs (Raspberry Pi OS Bookworm has Node.js 18.19, Trixie 20.19; an older OS, such as Bullseye with Node.js 12, needs an upgrade to Bookworm first)"

# Sets $node to Node.js's absolute path, installing nodejs with apt when there is none, and
# refuses one older than 18.19. With --dry-run and no node, only prints what it would do.
ensure_node() {
  node="$(command -v node || true)"
  if [ -z "$node" ]; then
    say "Node.js is not installed: installing it with apt"
    as_root apt-get update || warn "apt-get update failed; trying the install anyway"
    as_root apt-get install -y nodejs || die "could not install Node.js. Install it with: $NODE_FIX"
    if [ -n "$dry_run" ]; then
      node=/usr/bin/node
      return 0
    fi
    node="$(command -v node || true)"
    [ -n "$node" ] || die "apt installed nodejs, but there is no node command. Install it with: $NODE_FIX"
  fi
  local version major minor
  version="$("$node" --version 2>/dev/null || true)"
  if [[ ! "$version" =~ ^v([0-9]+)\.([0-9]+) ]]; then
    die "$node --version printed '${version}', not a Node.js version. Install Node.js with: $NODE_FIX"
  fi
  major="${BASH_REMATCH[1]}"
  minor="${BASH_REMATCH[2]}"
  if [ "$major" -lt "$NODE_MIN_MAJOR" ] ||
    { [ "$major" -eq "$NODE_MIN_MAJOR" ] && [ "$minor" -lt "$NODE_MIN_MINOR" ]; }; then
    die "Node.js $version is too old: the recorder needs $NODE_MIN_MAJOR.$NODE_MIN_MINOR or later. Fix: $NODE_FIX"
  fi
  say "Node.js $version ($node)"
}

# The unit for Node: ExecStart runs the bundle with node, the rest as for Deno. node's
# --max-semi-space-size=1 is the same smaller young generation the Deno binary has built in.
node_unit() {
  local line="ExecStart=$node --max-semi-space-size=1 %h/.local/lib/$NAME/$NAME.mjs"
  sed "s|^ExecStart=%h/.local/bin/$NAME |$line |" "$1"
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
  pick_runtime
  local program
  if [ "$runtime" = node ]; then
    if [ -z "$bundle" ]; then
      bundle="$(first_existing "$here/$NAME.mjs" "./$NAME.mjs" "$here/../dist/$NAME.mjs")" ||
        die "no $NAME.mjs beside $0 or in the current directory: pass --bundle PATH (scripts/compile.sh writes dist/$NAME-node.tar.gz with it)"
    fi
    [ -f "$bundle" ] || die "--bundle $bundle: no such file"
    ensure_node
    if [ -z "$dry_run" ] && ! "$node" "$bundle" --help >/dev/null 2>&1; then
      die "$bundle does not run on Node.js $("$node" --version): is it the bundle scripts/compile.sh writes?"
    fi
    program="$bundle"
  else
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
    program="$binary"
  fi
  check_tools

  local changed="" unit_source
  unit_source="$(first_existing "$here/$UNIT" "$here/../deploy/$UNIT")" ||
    die "$UNIT not found beside $0 or in ../deploy/"
  if [ "$runtime" = node ]; then
    place "$program" "$lib_dir/$NAME.mjs" 0644 && changed=1
    local node_unit_file
    node_unit_file="$(mktemp)"
    node_unit "$unit_source" >"$node_unit_file"
    place "$node_unit_file" "$unit" 0644 && changed=1
    rm -f "$node_unit_file"
  else
    place "$program" "$bin_dir/$NAME" 0755 && changed=1
    place "$unit_source" "$unit" 0644 && changed=1
  fi

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
  if [ -f "$lib_dir/$NAME.mjs" ]; then
    act rm -f "$lib_dir/$NAME.mjs"
    act rmdir --ignore-fail-on-non-empty "$lib_dir"
  fi
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

# The access point's NetworkManager profile, and the address NetworkManager's shared mode
# gives the Pi on it (its DHCP hands out 10.42.0.x to the phone).
HOTSPOT=videorecorder-hotspot
HOTSPOT_ADDRESS=10.42.0.1
HOTSPOT_IFACE=wlan0

# Refuses what NetworkManager (and WPA2) would refuse, in words that say what is wrong.
check_hotspot_args() {
  local bytes
  bytes="$(LC_ALL=C; printf '%s' "${#hotspot_ssid}")"
  if [ "$bytes" -lt 1 ] || [ "$bytes" -gt 32 ]; then
    die "--hotspot: the network name (SSID) must be 1 to 32 bytes, '$hotspot_ssid' is $bytes"
  fi
  if [ "${#hotspot_password}" -lt 8 ] || [ "${#hotspot_password}" -gt 63 ]; then
    die "--hotspot: the password must be 8 to 63 characters (WPA2), this one has ${#hotspot_password}"
  fi
  if printf '%s' "$hotspot_password" | LC_ALL=C grep -q '[^[:print:]]'; then
    die "--hotspot: the password may hold only ASCII letters, digits, spaces and punctuation (WPA2 passphrase)"
  fi
}

# nmcli, and a NetworkManager that runs (Raspberry Pi OS Bookworm's default; Bullseye had dhcpcd).
check_network_manager() {
  local fix="Raspberry Pi OS Bookworm uses NetworkManager; on Bullseye switch with: sudo raspi-config → Advanced Options → Network Config → NetworkManager"
  command -v nmcli >/dev/null 2>&1 || die "there is no nmcli (NetworkManager) to make the hotspot with. $fix"
  [ "$(nmcli -t -f RUNNING general 2>/dev/null || true)" = running ] ||
    die "NetworkManager is not running, so it cannot make the hotspot. $fix"
}

hotspot_exists() {
  nmcli -t -f NAME connection show 2>/dev/null | grep -Fxq "$HOTSPOT"
}

add_hotspot() {
  check_hotspot_args
  check_network_manager
  secret="$hotspot_password"
  # Priority below known networks' (0): at start-up NetworkManager joins a known network in
  # range, and only with none does it bring this up. RSN/CCMP (WPA2-AES) and 2.4 GHz: what
  # every phone and the Pi Zero 2 W's radio take.
  local settings=(
    connection.autoconnect yes
    connection.autoconnect-priority -10
    802-11-wireless.ssid "$hotspot_ssid"
    802-11-wireless.mode ap
    802-11-wireless.band bg
    ipv4.method shared
    ipv6.method ignore
    wifi-sec.key-mgmt wpa-psk
    wifi-sec.proto rsn
    wifi-sec.pairwise ccmp
    wifi-sec.group ccmp
    wifi-sec.psk "$hotspot_password"
  )
  if hotspot_exists; then
    as_root nmcli connection modify "$HOTSPOT" connection.interface-name "$HOTSPOT_IFACE" "${settings[@]}" ||
      die "nmcli could not change the hotspot $HOTSPOT"
  else
    as_root nmcli connection add type wifi con-name "$HOTSPOT" ifname "$HOTSPOT_IFACE" "${settings[@]}" ||
      die "nmcli could not add the hotspot $HOTSPOT"
  fi
  local port=""
  if [ -f "$config" ]; then
    port="$(sed -n 's/.*"port"[[:space:]]*:[[:space:]]*\([0-9]*\).*/\1/p' "$config" | head -n 1)"
  fi
  say "hotspot '$hotspot_ssid' is set up: the Pi starts it whenever no known Wi-Fi is in range (at power-on in the car)"
  say "in the car, join '$hotspot_ssid' from the phone with its password, then open http://$HOTSPOT_ADDRESS:${port:-8080}/"
  say "to start it now (this ends a Wi-Fi connection you are using): sudo nmcli connection up $HOTSPOT"
}

remove_hotspot() {
  if ! command -v nmcli >/dev/null 2>&1 || ! hotspot_exists; then
    say "there is no hotspot $HOTSPOT to remove"
    return 0
  fi
  as_root nmcli connection delete "$HOTSPOT" || die "nmcli could not remove the hotspot $HOTSPOT"
  [ -n "$dry_run" ] || say "hotspot removed: the Pi joins only known Wi-Fi networks again"
}

if [ "$hotspot" = add ]; then
  add_hotspot
elif [ "$hotspot" = remove ]; then
  remove_hotspot
elif [ -n "$uninstall" ]; then
  uninstall_service
  # The hotspot this script made goes too.
  if command -v nmcli >/dev/null 2>&1 && hotspot_exists; then remove_hotspot; fi
else
  install_service
fi
