#!/usr/bin/env bash
# Installs Debian's chromium for the browser end-to-end tests when it is missing.
# playwright-core drives it at /usr/bin/chromium (no Playwright browser download).
set -euo pipefail

CHROMIUM=/usr/bin/chromium
if [ -x "$CHROMIUM" ]; then
  exit 0
fi

echo "chromium not found at $CHROMIUM: installing it from Debian's packages"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "ensure-chromium: need root (or sudo) to install chromium" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq chromium >/dev/null

if [ ! -x "$CHROMIUM" ]; then
  echo "ensure-chromium: chromium was installed but $CHROMIUM is missing" >&2
  exit 1
fi
"$CHROMIUM" --version
