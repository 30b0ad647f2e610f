#!/usr/bin/env bash
# Installs what Custos needs on Debian/Ubuntu, and is safe to run again:
#  1. system packages (SoftHSM2, the other PKCS#11 modules the preflight is
#     tested on, OpenSC, Chromium for the end-to-end tests,
#     PDF and QR tools, DejaVu fonts, a compiler for the native modules);
#  2. the npm dependencies from the lock file (Node's ABI: tests and the CLI);
#  3. the Electron binary (a download from GitHub) and better-sqlite3 built for
#     Electron's ABI into native-electron/ (build/electron-native.mjs);
#  4. a check that Chromium's sandbox can work here, with the fix if not.
#
#   build/setup.sh                 all of it (steps 3-4 need internet once)
#   build/setup.sh --offline       no download outside the npm registry: tests
#                                  and the `custos` command work, the desktop
#                                  window does not (npm start says so)
#   build/setup.sh --fix-sandbox   also make Electron's chrome-sandbox helper
#                                  setuid root (sudo), where the kernel needs it
# ELECTRON_SKIP_BINARY_DOWNLOAD=1 or CUSTOS_OFFLINE=1 mean --offline.
set -euo pipefail
cd "$(dirname "$0")/.."

OFFLINE="${CUSTOS_OFFLINE:-0}"
[ "${ELECTRON_SKIP_BINARY_DOWNLOAD:-0}" != 0 ] && OFFLINE=1
FIX_SANDBOX=0
for a in "$@"; do
  case "$a" in
    --offline) OFFLINE=1 ;;
    --fix-sandbox) FIX_SANDBOX=1 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "setup: unknown option $a (see build/setup.sh --help)" >&2; exit 2 ;;
  esac
done

SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
# swtpm … dbus-daemon: tpm2-pkcs11 on a software TPM behind tpm2-abrmd (test/integration/hsm-tpm2.test.ts).
PKGS=(softhsm2 libnss3 libnss3-tools opencryptoki swtpm swtpm-tools libtpm2-pkcs11-1 libtpm2-pkcs11-tools tpm2-tools tpm2-abrmd libtss2-tcti-tabrmd0 dbus-daemon opensc chromium qpdf poppler-utils fonts-dejavu-core zbar-tools openssl strace iproute2 python3 make g++ binutils cups-client python3-cryptography python3-yaml)
if command -v apt-get >/dev/null 2>&1; then
  missing=()
  for p in "${PKGS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
else
  echo "setup: not a Debian/Ubuntu system; install SoftHSM2, OpenSC, Chromium, qpdf, poppler-utils, DejaVu fonts, zbar, a C++ compiler and CUPS's lp yourself." >&2
fi

node -e 'const [a,b]=process.versions.node.split(".").map(Number); if (a<20||(a===20&&b<19)) { console.error("setup: Node.js >= 20.19 is needed, found "+process.versions.node); process.exit(1) }'

# npm never downloads Electron itself here: a failed download would fail the
# whole install. Electron's own installer runs below, on its own.
# Playwright's browsers are never downloaded: the tests use Debian's Chromium.
# `npm install`, not `npm ci`: npm 11 here leaves other platforms' optional
# packages (rollup, esbuild) out of the lock file, and `npm ci` then refuses it.
# The lock file still pins every version that is installed.
ELECTRON_SKIP_BINARY_DOWNLOAD=1 PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --no-audit --no-fund

desktop="no: set up with --offline"
electron_bin=""
if [ "$OFFLINE" = 0 ]; then
  # npm says "up to date" on a second run even when the binary was never
  # fetched; Electron's installer is run whenever its dist/ is missing.
  if [ ! -f node_modules/electron/path.txt ] || [ ! -d node_modules/electron/dist ]; then
    echo "setup: downloading the Electron binary"
    if ! env -u ELECTRON_SKIP_BINARY_DOWNLOAD node node_modules/electron/install.js; then
      echo "setup: WARNING: the Electron binary could not be downloaded (no route to GitHub?)." >&2
      echo "       Tests and the custos command work; for the desktop window run build/setup.sh again with internet access." >&2
    fi
  fi
  if [ -f node_modules/electron/path.txt ] && [ -x "node_modules/electron/dist/$(cat node_modules/electron/path.txt)" ]; then
    electron_bin="node_modules/electron/dist/$(cat node_modules/electron/path.txt)"
    if node build/electron-native.mjs; then
      desktop="yes: npm start"
    else
      desktop="no: the Electron-ABI SQLite module is missing (node build/electron-native.mjs says why)"
      echo "setup: WARNING: $desktop" >&2
    fi
  else
    desktop="no: the Electron binary is missing (download failed)"
  fi
fi

# Chromium's sandbox around the renderer needs unprivileged user namespaces, or
# the setuid-root chrome-sandbox helper. Ubuntu 24.04 restricts the former
# through AppArmor; Custos never runs with --no-sandbox instead.
sandbox_helper() { [ -n "$electron_bin" ] && echo "$(dirname "$electron_bin")/chrome-sandbox"; }
userns_restricted() {
  [ "$(cat /proc/sys/kernel/apparmor_restrict_unprivileged_userns 2>/dev/null || echo 0)" = 1 ] ||
    [ "$(cat /proc/sys/kernel/unprivileged_userns_clone 2>/dev/null || echo 1)" = 0 ] ||
    [ "$(cat /proc/sys/user/max_user_namespaces 2>/dev/null || echo 1)" = 0 ]
}
helper_ok() { local h; h="$(sandbox_helper)"; [ -n "$h" ] && [ "$(stat -c '%u %a' "$h" 2>/dev/null)" = "0 4755" ]; }
if [ -n "$electron_bin" ] && userns_restricted && ! helper_ok; then
  helper="$(sandbox_helper)"
  if [ "$FIX_SANDBOX" = 1 ]; then
    echo "setup: making $helper setuid root (the kernel restricts unprivileged user namespaces)"
    $SUDO chown root:root "$helper"
    $SUDO chmod 4755 "$helper"
  else
    desktop="no: Chromium's sandbox cannot start here (see below)"
    cat >&2 <<EOF
setup: This kernel restricts unprivileged user namespaces (Ubuntu 24.04 does so
       through AppArmor), so Electron's renderer sandbox needs its setuid-root
       helper. Custos never runs without the sandbox. Either run
           build/setup.sh --fix-sandbox
       which does
           sudo chown root:root $helper && sudo chmod 4755 $helper
       (npm install replaces the file: run it again after reinstalling Electron),
       or install the packaged .deb, which installs the helper this way.
EOF
  fi
fi

echo "setup: done. Tests and the custos command: yes (npm test, npx custos). Desktop window: $desktop."
