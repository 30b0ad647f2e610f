#!/usr/bin/env bash
# Installs what Custos needs on Debian/Ubuntu: the system packages (SoftHSM2,
# OpenSC, Chromium for the end-to-end tests, PDF and QR tools, DejaVu fonts)
# and the npm dependencies from the lock file. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(softhsm2 opensc chromium qpdf poppler-utils fonts-dejavu-core zbar-tools openssl strace iproute2 python3 make g++)
if command -v apt-get >/dev/null 2>&1; then
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo"
  missing=()
  for p in "${PKGS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
else
  echo "setup: not a Debian/Ubuntu system; install SoftHSM2, OpenSC, Chromium, qpdf, poppler-utils, DejaVu fonts and zbar yourself." >&2
fi

node -e 'const [a,b]=process.versions.node.split(".").map(Number); if (a<20||(a===20&&b<19)) { console.error("setup: Node.js >= 20.19 is needed, found "+process.versions.node); process.exit(1) }'

# The Electron binary and Playwright's own browsers are downloads from outside
# the npm registry; the tests use Debian's Chromium instead. Set
# ELECTRON_SKIP_BINARY_DOWNLOAD=0 on a machine that may fetch Electron.
export ELECTRON_SKIP_BINARY_DOWNLOAD="${ELECTRON_SKIP_BINARY_DOWNLOAD:-1}"
[ "$ELECTRON_SKIP_BINARY_DOWNLOAD" = 0 ] && unset ELECTRON_SKIP_BINARY_DOWNLOAD
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
# `npm install`, not `npm ci`: npm 11 here leaves other platforms' optional
# packages (rollup, esbuild) out of the lock file, and `npm ci` then refuses it.
# The lock file still pins every version that is installed.
npm install --no-audit --no-fund
echo "setup: done"
