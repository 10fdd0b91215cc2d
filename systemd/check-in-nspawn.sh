#!/usr/bin/env bash
# Runs edged.service under a real systemd, on a machine where systemd is not PID 1
# (CI, containers): boots this host's own OS in systemd-nspawn, on a throw-away
# overlay of / (nothing on the host changes) with a private network (only loopback),
# installs the checkout there with install.sh and checks, under the real unit and
# its hardening: READY=1 (Type=notify), STATUS=, the socket's owner and mode, edgectl
# for a member of group edged and not for others, Node spawning gst-launch-1.0 in
# the same sandbox, and a watchdog restart of a hung (SIGSTOPped) edged.
#   systemd/check-in-nspawn.sh     as root; needs systemd-container (systemd-nspawn)
# Prints the probe's log and ends with "nspawn check: PASS" or exits 1. About a minute.
set -euo pipefail
src=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd -P)
[[ $(id -u) -eq 0 ]] || { echo "check-in-nspawn: run as root" >&2; exit 1; }
command -v systemd-nspawn >/dev/null || { echo "check-in-nspawn: needs systemd-nspawn (apt-get install systemd-container)" >&2; exit 1; }

work=$(mktemp -d /tmp/edge-nspawn.XXXXXX)
root=$work/root
cleanup () {
  umount "$root" 2>/dev/null || true
  umount "$work/layers" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/layers" "$root" "$work/out"
# The overlay sees only the root file system, not /dev, /proc or other mounts (nspawn wants them empty).
mount -t tmpfs tmpfs "$work/layers"
mkdir -p "$work/layers/upper" "$work/layers/work"
mount -t overlay overlay -o "lowerdir=/,upperdir=$work/layers/upper,workdir=$work/layers/work" "$root"

# A clean slate inside: no earlier install, no host services to boot.
rm -rf "$root/opt/edge-stack" "$root/etc/edge-stack" "$root/var/lib/edged" "$root/etc/systemd/system/edged.service.d"
find "$root/etc/systemd/system" -mindepth 2 -maxdepth 2 -path '*.wants/*' -delete
# The account first, so install.sh gives the config to group edged.
systemd-sysusers --root="$root" "$src/systemd/edged.sysusers"
DESTDIR=$root "$src/systemd/install.sh" --copy-deps
for u in member outsider; do
  grep -q "^edge-$u:" "$root/etc/passwd" || chroot "$root" useradd --no-create-home "edge-$u"
done
chroot "$root" usermod -aG edged edge-member
# No mDNS out of the container's loopback anyway; a short watchdog keeps the check quick.
sed -i 's|^  name: default|  name: default\n  mdns: false\n  listen: [/ip4/127.0.0.1/tcp/0]|' "$root/etc/edge-stack/edged.yaml"
mkdir -p "$root/etc/systemd/system/edged.service.d"
printf '[Service]\nWatchdogSec=4\n' > "$root/etc/systemd/system/edged.service.d/check.conf"

cat > "$root/edge-probe.sh" <<'EOF'
#!/bin/bash
exec > /out/probe.log 2>&1
fail () { echo "FAIL: $*"; systemctl poweroff; exit 1; }
prop () { systemctl show edged -p "$1" --value; }
for _ in $(seq 1 60); do [[ $(prop ActiveState) == active ]] && break; sleep 1; done
[[ $(prop ActiveState) == active ]] || { journalctl -u edged --no-pager | tail -20; fail "edged not active (READY=1 never came?): $(prop ActiveState)/$(prop SubState)"; }
echo "ok: active (READY=1), status '$(prop StatusText)'"
[[ $(prop StatusText) =~ ^peers\ [0-9]+,\ sessions\ [0-9]+$ ]] || fail "STATUS= not set"
[[ $(stat -c '%U:%G %a' /run/edged/edged.sock) == 'edged:edged 660' ]] || fail "socket is $(stat -c '%U:%G %a' /run/edged/edged.sock)"
echo "ok: socket edged:edged 0660"
runuser -u edge-member -- /usr/local/bin/edgectl --socket /run/edged/edged.sock status >/dev/null || fail "a member of group edged cannot use edgectl"
! runuser -u edge-outsider -- /usr/local/bin/edgectl --socket /run/edged/edged.sock status >/dev/null 2>&1 || fail "a non-member can use edgectl"
echo "ok: edgectl for group edged only"
props=()
while IFS= read -r line; do props+=(-p "$line"); done < <(grep -E '^(User|Group|SupplementaryGroups|NoNewPrivileges|CapabilityBoundingSet|Protect[A-Za-z]*|Private[A-Za-z]*|DevicePolicy|DeviceAllow|Restrict[A-Za-z]*|LockPersonality|RemoveIPC|KeyringMode|SystemCall[A-Za-z]*|UMask)=' /etc/systemd/system/edged.service)
systemd-run --wait --collect --pipe --quiet "${props[@]}" /opt/edge-stack/node_modules/.bin/node -e "
  const r = require('node:child_process').spawnSync('gst-launch-1.0', ['-q', 'videotestsrc', 'num-buffers=30', '!', 'videoconvert', '!', 'fakesink'], { encoding: 'utf8' })
  if (r.status !== 0) { console.error('gst-launch-1.0:', r.status, r.signal, r.error?.message, r.stderr); process.exit(1) }
" || fail "Node cannot run gst-launch-1.0 under edged's sandbox"
echo "ok: Node spawns gst-launch-1.0 under the same sandbox"
pid=$(prop MainPID)
sleep 6
[[ $(prop MainPID) == "$pid" && $(prop NRestarts) == 0 ]] || fail "edged restarted although it pinged the watchdog"
echo "ok: alive past WatchdogSec"
kill -STOP "$pid"
for _ in $(seq 1 30); do [[ $(prop NRestarts) -ge 1 && $(prop ActiveState) == active ]] && break; sleep 1; done
[[ $(prop NRestarts) -ge 1 && $(prop ActiveState) == active ]] || fail "no watchdog restart of a hung edged"
journalctl -u edged --no-pager | grep -q 'Watchdog timeout' || fail "restarted, but not by the watchdog"
echo "ok: a hung edged is killed by the watchdog and restarted"
systemctl stop edged
[[ $(prop Result) == success ]] || fail "stop: $(prop Result)"
echo "ok: clean stop"
echo PASS
systemctl poweroff
EOF
chmod +x "$root/edge-probe.sh"
cat > "$root/etc/systemd/system/edge-probe.service" <<'EOF'
[Unit]
After=edged.service
[Service]
Type=oneshot
ExecStart=/edge-probe.sh
EOF
mkdir -p "$root/etc/systemd/system/multi-user.target.wants"
ln -sf ../edged.service "$root/etc/systemd/system/multi-user.target.wants/edged.service"
ln -sf ../edge-probe.service "$root/etc/systemd/system/multi-user.target.wants/edge-probe.service"
mkdir -p "$root/out"

timeout 240 systemd-nspawn -D "$root" --private-network --register=no --keep-unit --link-journal=no \
  --machine="edge-check-$$" --console=pipe --bind="$work/out:/out" -b >"$work/console.log" 2>&1 || true
cat "$work/out/probe.log" 2>/dev/null || { echo "no probe log; console:"; tail -30 "$work/console.log"; }
if grep -q '^PASS$' "$work/out/probe.log" 2>/dev/null; then echo "nspawn check: PASS"; else echo "nspawn check: FAIL"; exit 1; fi
