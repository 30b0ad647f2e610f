#!/bin/bash
# Custos .deb post-install (electron-builder fills in ${...}). Based on
# electron-builder's own after-install template, with one change: /usr/bin/custos
# is a small launcher instead of a symlink, so `custos verify FILE` (and the
# other commands) runs the custos command line without a window, even over ssh
# with no display, while `custos` alone opens the desktop app.

if [ -L '/usr/bin/${executable}' ] || [ -e '/usr/bin/${executable}' ]; then
    rm -f '/usr/bin/${executable}'
fi
cat > '/usr/bin/${executable}' <<'LAUNCHER'
#!/bin/sh
# Custos: the desktop app; with a command, the custos command line (no window).
app='/opt/${sanitizedProductName}/${executable}'
case "${1-}" in
  lint|rehearse|verify|report|export|hsm-check|help|--help|-h)
    # Ozone's headless platform needs no display; no window is ever opened in this mode.
    exec "$app" --ozone-platform=headless --disable-gpu --custos-cli "$@" ;;
esac
exec "$app" "$@"
LAUNCHER
chmod 0755 '/usr/bin/${executable}'

# Chromium's renderer sandbox: the setuid helper where user namespaces are unavailable.
if ! { [[ -L /proc/self/ns/user ]] && unshare --user true; }; then
    chmod 4755 '/opt/${sanitizedProductName}/chrome-sandbox' || true
else
    chmod 0755 '/opt/${sanitizedProductName}/chrome-sandbox' || true
fi

if hash update-mime-database 2>/dev/null; then
    update-mime-database /usr/share/mime || true
fi

if hash update-desktop-database 2>/dev/null; then
    update-desktop-database /usr/share/applications || true
fi

# Ubuntu 24.04+: an AppArmor profile that lets the app use user namespaces (its sandbox).
if apparmor_status --enabled > /dev/null 2>&1; then
  APPARMOR_PROFILE_SOURCE='/opt/${sanitizedProductName}/resources/apparmor-profile'
  APPARMOR_PROFILE_TARGET='/etc/apparmor.d/${executable}'
  if apparmor_parser --skip-kernel-load --debug "$APPARMOR_PROFILE_SOURCE" > /dev/null 2>&1; then
    cp -f "$APPARMOR_PROFILE_SOURCE" "$APPARMOR_PROFILE_TARGET"
    if ! { [ -x '/usr/bin/ischroot' ] && /usr/bin/ischroot; } && hash apparmor_parser 2>/dev/null; then
      apparmor_parser --replace --write-cache --skip-read-cache "$APPARMOR_PROFILE_TARGET"
    fi
  else
    echo "Skipping the installation of the AppArmor profile as this version of AppArmor does not seem to support the bundled profile"
  fi
fi
