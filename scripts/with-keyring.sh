#!/usr/bin/env bash
# Runs a command with a private D-Bus session and a fresh, unlocked gnome-keyring Secret Service
# (its keyring files in a temporary folder), so the OS-keyring tests store real secrets on a
# headless machine without touching the user's own keyring.
set -euo pipefail
keyring_home=$(mktemp -d)
trap 'rm -rf "$keyring_home"' EXIT
XDG_DATA_HOME="$keyring_home" dbus-run-session -- bash -c '
  printf "assay-test" | gnome-keyring-daemon --unlock --components=secrets >/dev/null
  "$@"
' with-keyring "$@"
