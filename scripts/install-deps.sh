#!/usr/bin/env bash
# Installs what Assay needs on Debian 12 and is missing: the libraries the desktop app builds
# against and, with --test, what the end-to-end tests drive (Xvfb, WebKitWebDriver, Chromium,
# tauri-driver). Installs nothing that is already there.
set -euo pipefail

# libdbus-1-dev: the OS keyring (Secret Service over D-Bus); libssl-dev: TLS to providers.
build_pkgs=(libwebkit2gtk-4.1-dev build-essential pkg-config libssl-dev libdbus-1-dev file)
test_pkgs=(xvfb xauth xdotool imagemagick webkit2gtk-driver dbus dbus-x11 gnome-keyring keyutils chromium)

want=("${build_pkgs[@]}")
[ "${1:-}" = "--test" ] && want+=("${test_pkgs[@]}")

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing Debian packages: ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [ "${1:-}" = "--test" ] && ! command -v tauri-driver >/dev/null && [ ! -x "$HOME/.cargo/bin/tauri-driver" ]; then
  echo "Installing tauri-driver 2.1.0"
  cargo install tauri-driver --version 2.1.0 --locked
fi
