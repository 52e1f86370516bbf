#!/usr/bin/env bash
# Installs what Airlock needs on Debian 12: build dependencies, and with --test also what the
# test suite uses (keyring daemon, Xvfb, clang for fuzzing, node/npm for the SDK end-to-end tests).
set -euo pipefail
want_test=0
want_bench=0
for arg in "$@"; do
  case "$arg" in
    --test) want_test=1 ;;
    --bench) want_bench=1 ;;
    *) echo "usage: $0 [--test] [--bench]" >&2; exit 2 ;;
  esac
done
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi

packages=(build-essential cmake ninja-build pkg-config
          qt6-base-dev qt6-charts-dev qt6-svg-dev qtkeychain-qt6-dev libqt6sql6-sqlite libgl-dev
          libsqlite3-dev libssl-dev)
if [ "$want_bench" = 1 ]; then
  packages+=(nginx-light wrk nodejs npm curl)
fi
if [ "$want_test" = 1 ]; then
  packages+=(xvfb xauth dbus-x11 gnome-keyring clang libclang-rt-14-dev nodejs npm curl openssl)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# node/npm may come from elsewhere than Debian's packages; accept any working install.
if command -v node >/dev/null && command -v npm >/dev/null; then
  filtered=()
  for p in "${missing[@]}"; do [ "$p" = nodejs ] || [ "$p" = npm ] || filtered+=("$p"); done
  missing=("${filtered[@]}")
fi
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
