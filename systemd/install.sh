#!/usr/bin/env bash
# Installs Edge Stack as the systemd service edged (Debian 12; run as root, from a checkout).
#   systemd/install.sh               install or upgrade; enable and (re)start edged
#   systemd/install.sh --copy-deps   take node_modules from this checkout (pruned to production
#                                    dependencies) instead of `npm ci --omit=dev`: for offline installs
#                                    (an upgrade with an unchanged package-lock.json reuses the installed ones)
#   systemd/install.sh --uninstall   remove the app, the commands, the unit; keep the config
#                                    (/etc/edge-stack), the state (/var/lib/edged) and the edged account
# With DESTDIR=DIR everything goes into that tree instead (packaging, tests): no account is
# created and systemd is left alone.
#
# What goes where: the app (sources, Node runtime and production node_modules) in
# /opt/edge-stack; edged and edgectl linked into /usr/local/bin; the unit in
# /etc/systemd/system; the account in /etc/sysusers.d/edged.conf; a first config in
# /etc/edge-stack/edged.yaml, written only if there is none (an existing one is never touched).
set -euo pipefail
umask 022

APP=/opt/edge-stack
BIN=/usr/local/bin
BIN_TO_APP=../../../opt/edge-stack/bin # relative, so the links work inside DESTDIR too
UNIT=/etc/systemd/system/edged.service
SYSUSERS=/etc/sysusers.d/edged.conf
CONF_DIR=/etc/edge-stack
CONF=$CONF_DIR/edged.yaml
APP_FILES=(package.json package-lock.json README.md bin src config systemd)

DESTDIR=${DESTDIR:-}
DESTDIR=${DESTDIR%/}
src=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd -P)

say () { echo "install.sh: $*"; }
die () { echo "install.sh: $*" >&2; exit 1; }

# systemd is PID 1 (sd_booted(3)) and we install into the live system.
systemd_here () { [[ -z "$DESTDIR" && -d /run/systemd/system ]]; }

mode=install
deps=ci
for arg in "$@"; do
  case "$arg" in
    --uninstall) mode=uninstall ;;
    --copy-deps) deps=copy ;;
    -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    *) die "unknown argument $arg (see --help)" ;;
  esac
done
if [[ -z "$DESTDIR" && $(id -u) -ne 0 ]]; then die "run as root (or set DESTDIR to install into a tree)"; fi

# Remove a command link only if it is ours.
remove_link () {
  local link=$DESTDIR$BIN/$1
  if [[ -L "$link" && $(readlink "$link") == "$BIN_TO_APP/$1" ]]; then rm -f "$link"; fi
}

uninstall () {
  if systemd_here; then systemctl disable --now edged.service || true; fi
  remove_link edged
  remove_link edgectl
  rm -f "$DESTDIR$UNIT" "$DESTDIR$SYSUSERS"
  rm -rf "$DESTDIR$APP"
  if systemd_here; then systemctl daemon-reload; fi
  say "removed $APP, $BIN/edged, $BIN/edgectl, $UNIT"
  say "kept $CONF_DIR (config), /var/lib/edged (identity) and the edged account;" \
    "to remove them too: rm -rf $CONF_DIR /var/lib/edged && userdel edged"
}

install_app () {
  [[ -f "$src/package.json" && -x "$src/bin/edged" ]] || die "$src is not an Edge Stack checkout"
  [[ "$src" != "$(readlink -f "$DESTDIR$APP" 2>/dev/null || true)" ]] || die "run install.sh from a checkout, not from $APP"
  stage=$DESTDIR$APP.new.$$
  local old=$DESTDIR$APP.old.$$
  trap 'rm -rf "$stage"' EXIT
  rm -rf "$stage"
  mkdir -p "$stage"
  for f in "${APP_FILES[@]}"; do cp -R "$src/$f" "$stage/"; done

  local installed=$DESTDIR$APP
  if [[ -x "$installed/node_modules/.bin/node" ]] && cmp -s "$installed/package-lock.json" "$src/package-lock.json"; then
    # Same lock file: the installed dependencies are the right ones (hard links: no copy, no registry).
    say "package-lock.json unchanged: reusing the installed node_modules"
    cp -al "$installed/node_modules" "$stage/"
  elif [[ $deps == ci ]]; then
    command -v npm >/dev/null || die "npm not found: run scripts/setup first, or use --copy-deps"
    say "npm ci --omit=dev in $APP"
    (cd "$stage" && npm ci --omit=dev --no-audit --no-fund --loglevel=error)
  else
    [[ -x "$src/node_modules/.bin/node" ]] || die "$src/node_modules has no Node runtime: run scripts/setup (npm ci) first"
    say "copying node_modules from $src"
    cp -R "$src/node_modules" "$stage/"
    if command -v npm >/dev/null; then
      (cd "$stage" && npm prune --omit=dev --no-audit --no-fund --loglevel=error)
    else
      say "npm not found: development dependencies stay in $APP/node_modules"
    fi
  fi
  "$stage/node_modules/.bin/node" --version >/dev/null || die "the Node runtime in $APP/node_modules/.bin does not run"

  chmod -R u+rwX,go+rX,go-w "$stage"
  if [[ -z "$DESTDIR" ]]; then chown -R root:root "$stage"; fi
  # Swap in whole: a running edged keeps its open files until the restart below.
  if [[ -e "$DESTDIR$APP" ]]; then mv "$DESTDIR$APP" "$old"; fi
  mv "$stage" "$DESTDIR$APP"
  rm -rf "$old"
  trap - EXIT
}

link_commands () {
  mkdir -p "$DESTDIR$BIN"
  for cmd in edged edgectl; do
    local link=$DESTDIR$BIN/$cmd
    if [[ -e "$link" && ! -L "$link" ]]; then die "$BIN/$cmd exists and is not a link; move it away first"; fi
    ln -sfn "$BIN_TO_APP/$cmd" "$link"
  done
}

create_account () {
  [[ -z "$DESTDIR" ]] || return 0
  if command -v systemd-sysusers >/dev/null; then
    systemd-sysusers "$SYSUSERS"
  else
    getent group edged >/dev/null || groupadd --system edged
    getent passwd edged >/dev/null || useradd --system --gid edged --home-dir /var/lib/edged \
      --no-create-home --shell /usr/sbin/nologin --comment 'Edge Stack daemon' edged
  fi
}

write_config () {
  install -d -m 0755 "$DESTDIR$CONF_DIR"
  if [[ -e "$DESTDIR$CONF" ]]; then
    say "kept the existing $DESTDIR$CONF"
    return
  fi
  (umask 027 && cat > "$DESTDIR$CONF" <<EOF
# yaml-language-server: \$schema=$APP/config/edged.schema.json
#
# edged's config, written once by install.sh (a reinstall never overwrites it).
# Every key, with its default and meaning: $APP/config/edged.example.yaml
# Check an edit, then apply it:
#   edged --print-config --config $CONF && systemctl restart edged

# Identity (identity.key) lives here; keep it to keep the peer id.
stateDir: /var/lib/edged

control:
  socket: /run/edged/edged.sock
  mode: "0660"
  # Members of this group may use edgectl: usermod -aG edged USER
  # (then: edgectl --socket /run/edged/edged.sock status, or export EDGED_SOCKET).
  group: edged

swarm:
  # Robots with the same swarm name find each other; others are never mixed in.
  name: default
  # Beyond the LAN (mDNS), dial these peers at start: /ip4/ADDR/tcp/7420/p2p/PEER_ID
  # bootstrap: []
  # A private swarm: a key file made by edgectl keygen, readable by group edged.
  # key: $CONF_DIR/swarm.key

# Cameras: add sources, e.g.
# media:
#   sources:
#     front: { kind: video, pipeline: "v4l2src device=/dev/video0", width: 1280, height: 720, fps: 30 }
EOF
  )
  # edged (not root) reads it: group edged, from the tree's own /etc/group when installing into DESTDIR.
  local gid
  gid=$(awk -F: '$1 == "edged" { print $3 }' "$DESTDIR/etc/group" 2>/dev/null || true)
  if [[ -n "$gid" ]]; then
    chgrp "$gid" "$DESTDIR$CONF"
  elif [[ -z "$DESTDIR" ]]; then
    chgrp edged "$DESTDIR$CONF"
  else
    say "no group edged in $DESTDIR/etc/group yet: chgrp edged $CONF once there is, or edged cannot read it"
  fi
  say "wrote $DESTDIR$CONF"
}

install_all () {
  install_app
  link_commands
  install -D -m 0644 "$src/systemd/edged.service" "$DESTDIR$UNIT"
  install -D -m 0644 "$src/systemd/edged.sysusers" "$DESTDIR$SYSUSERS"
  create_account
  write_config
  if ! "$DESTDIR$APP/bin/edged" --print-config --config "$DESTDIR$CONF" >/dev/null; then
    say "WARNING: $CONF is not valid (see above); edged will not start until it is fixed"
  fi
  if [[ -z "$DESTDIR" ]] && ! command -v gst-launch-1.0 >/dev/null; then
    say "WARNING: GStreamer (gst-launch-1.0) is missing: run scripts/setup for the Debian packages"
  fi
  say "installed $DESTDIR$APP, $DESTDIR$BIN/edged, $DESTDIR$BIN/edgectl, $DESTDIR$UNIT"
  if systemd_here; then
    systemctl daemon-reload
    systemctl enable edged.service
    systemctl restart edged.service
    say "edged is enabled and running: systemctl status edged; journalctl -u edged"
  elif [[ -z "$DESTDIR" ]]; then
    say "systemd is not running here; to run edged by hand:"
    say "  install -d -o edged -g edged -m 0750 /run/edged && install -d -o edged -g edged -m 0700 /var/lib/edged"
    say "  runuser -u edged -- $BIN/edged --config $CONF"
  fi
}

if [[ $mode == uninstall ]]; then uninstall; else install_all; fi
