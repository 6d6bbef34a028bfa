#!/usr/bin/env bash
# Packaging, for real: builds the Debian packages from a copy of this tree with dpkg-buildpackage,
# runs lintian, installs them with dpkg -i, runs the installed binaries (wg-ice-wireguard in a network
# namespace, dropped to the package's account) and man pages, removes them;
# then checks make install/uninstall with DESTDIR and that binaries carry no Swift runtime dependency.
#   tests/packaging.sh [build|check]   only the package build (scripts/test runs it in the background), or only
#                                      what follows it, on the packages an earlier build left; both by default
set -euo pipefail
phase=${1:-all}
cd "$(dirname "$0")/.."
test_name=packaging
. tests/lib.sh
# The package is built from a copy of the tree kept in .build-deb/ (ignored by git), so a second run
# rebuilds incrementally; dpkg-buildpackage writes the packages next to the copy.
work="$PWD/.build-deb"
src="$work/wg-ice"
installed=()
ns="wgpk$$"
# The package creates the dedicated account sessions run as (wg-ice.conf(5) User) and, like Debian packages,
# keeps it on purge. An account left by an earlier run is removed first, so that this run sees postinst create
# it; one this run created is removed at the end.
had_account=$(getent passwd wg-ice >/dev/null && echo yes || echo no)
cleanup() {
  [ ${#installed[@]} -eq 0 ] || dpkg --purge "${installed[@]}" >/dev/null 2>&1 || true
  [ "$had_account" = yes ] || ! getent passwd wg-ice >/dev/null || userdel wg-ice
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$work/root" "$work/prefix"
}
trap cleanup EXIT
if [ "$phase" != check ]; then
  mkdir -p "$src"
  rm -f "$work"/*.deb "$work"/*.changes "$work"/*.buildinfo "$work"/*.dsc "$work"/*.tar.xz
  rsync -a --delete --exclude='/.build*' --exclude=/out --exclude=/.git ./ "$src/"
  (cd "$src" && dpkg-buildpackage -us -uc) > "$work/build.log" 2>&1 || { tail -50 "$work/build.log"; fail "dpkg-buildpackage failed"; }
fi
ls "$work"/*.deb
[ "$phase" != build ] || exit 0

lintian --fail-on error "$work"/*.changes || fail "lintian reported errors"

for deb in "$work"/wg-ice_*.deb "$work"/wg-ice-signal_*.deb; do
  [ -e "$deb" ] || fail "missing package $deb"
done
# wg-ice-wireguard's BLAKE2s comes from libb2: dh_shlibdeps must have found it.
dpkg-deb -f "$work"/wg-ice_*.deb Depends | grep -q 'libb2-1' || fail "wg-ice does not depend on libb2-1: $(dpkg-deb -f "$work"/wg-ice_*.deb Depends)"
# The session's UPnP port mapping links libminiupnpc.
dpkg-deb -f "$work"/wg-ice_*.deb Depends | grep -q 'libminiupnpc17' || fail "wg-ice does not depend on libminiupnpc17: $(dpkg-deb -f "$work"/wg-ice_*.deb Depends)"
! getent passwd wg-ice >/dev/null || userdel wg-ice
dpkg -i "$work"/wg-ice_*.deb "$work"/wg-ice-signal_*.deb
installed=(wg-ice wg-ice-signal)
account_ok() {  # PASSWD-LINE: a system account without a login shell or a home directory
  IFS=: read -r name _ uid _ _ home shell <<<"$1"
  [ "$name" = wg-ice ] && [ "$uid" -lt 1000 ] && [ "$shell" = /usr/sbin/nologin ] && [ ! -e "$home" ]
}
account_ok "$(getent passwd wg-ice)" || fail "the package did not create the system account wg-ice: $(getent passwd wg-ice)"
getent group wg-ice >/dev/null || fail "the package did not create the group wg-ice"

for bin in /usr/bin/wg-ice-hook /usr/bin/wg-ice-signal /usr/bin/wg-ice-resolve; do
  "$bin" --version
  ! ldd "$bin" | grep -E 'libswift|libFoundation|lib_Foundation|libdispatch' || fail "$bin links the Swift runtime dynamically"
done
# wg-ice-wireguard has wireguard-go's command line (no --version): a usage error is exit 2.
[ -x /usr/bin/wg-ice-wireguard ] || fail "the wg-ice package has no /usr/bin/wg-ice-wireguard"
! ldd /usr/bin/wg-ice-wireguard | grep -E 'libswift|libFoundation|lib_Foundation|libdispatch' \
  || fail "wg-ice-wireguard links the Swift runtime dynamically"
/usr/bin/wg-ice-wireguard >/dev/null 2>&1 && rc=0 || rc=$?
[ "$rc" = 2 ] || fail "installed wg-ice-wireguard without arguments: exit $rc, expected 2"
# The installed daemon runs as the account the package created, with the two capabilities it keeps.
ip netns add "$ns"
ip netns exec "$ns" /usr/bin/wg-ice-wireguard wgpk0 || { ip netns del "$ns"; fail "installed wg-ice-wireguard did not start"; }
status=$(cat "/proc/$(pgrep -f -x '/usr/bin/wg-ice-wireguard --foreground wgpk0')/status")
ip -n "$ns" link del wgpk0
ip netns del "$ns"
grep -qx "Uid:[[:space:]]*$(id -u wg-ice)[[:space:]]*$(id -u wg-ice)[[:space:]]*$(id -u wg-ice)[[:space:]]*$(id -u wg-ice)" <<<"$status" \
  && grep -qx 'CapEff:[[:space:]]*0000000000001400' <<<"$status" \
  || fail "installed wg-ice-wireguard does not run as wg-ice with CAP_NET_ADMIN and CAP_NET_BIND_SERVICE: $status"
for example in /usr/share/doc/wg-ice/examples/*.conf; do
  wg-ice-hook check "$example" || fail "installed wg-ice-hook rejects $example"
done
for page in wg-ice.conf.5 wg-ice-signal.8 wg-ice-hook.8 wg-ice-resolve.8 wg-ice-wireguard.8; do
  man -w "${page%.*}" >/dev/null || fail "man page ${page} not installed"
  out=$(MANWIDTH=80 man --warnings "${page##*.}" "${page%.*}" 2>&1 >/dev/null) || fail "man ${page} failed"
  [ -z "$out" ] || fail "man --warnings ${page}: $out"
done
# verify reports bad directives on stderr but still exits 0: any output is a failure.
verify() {
  out=$(systemd-analyze verify --man=no "$@" 2>&1) || fail "systemd-analyze verify $*: $out"
  [ -z "$out" ] || fail "systemd-analyze verify $*: $out"
}
verify /lib/systemd/system/wg-ice-signal.service
verify /lib/systemd/system/wg-ice-watch.service
# The wg-quick@ drop-ins (sessions; the userspace WireGuard), installed as documentation, applied together
# to wireguard-tools' own unit.
units="$work/units"
rm -rf "$units" && mkdir -p "$units/wg-quick@.service.d"
cp /lib/systemd/system/wg-quick@.service "$units/"
for dropin in wg-ice.conf wg-ice-wireguard.conf; do
  cp "/usr/share/doc/wg-ice/examples/wg-quick@.service.d/$dropin" "$units/wg-quick@.service.d/" || fail "drop-in $dropin not installed"
done
SYSTEMD_UNIT_PATH="$units:" verify "$units/wg-quick@wg0.service"
grep -qx 'Environment=WG_QUICK_USERSPACE_IMPLEMENTATION=wg-ice-wireguard' "$units/wg-quick@.service.d/wg-ice-wireguard.conf" \
  || fail "the wg-ice-wireguard drop-in does not select it for wg-quick"
rm -rf "$units"
for p in wg-ice-hook wg-ice-signal wg-ice-resolve; do
  bash -n "/usr/share/bash-completion/completions/$p" || fail "bash completion for $p"
done
wg-ice-resolve nosuchwg0 --config /usr/share/doc/wg-ice/examples/site-a.conf >/dev/null 2>&1 && rc=0 || rc=$?
[ "$rc" = 2 ] || fail "installed wg-ice-resolve: exit $rc for a missing interface, expected 2"

dpkg --purge wg-ice wg-ice-signal >/dev/null
installed=()
getent passwd wg-ice >/dev/null || fail "dpkg --purge removed the account wg-ice (files may still belong to it)"
for f in /usr/bin/wg-ice-hook /usr/bin/wg-ice-resolve /usr/bin/wg-ice-wireguard /lib/systemd/system/wg-ice-watch.service; do
  [ ! -e "$f" ] || fail "dpkg --purge left $f"
done

# make install / uninstall honour DESTDIR and PREFIX and leave nothing behind. They run in a private mount
# namespace over a copy of /etc without the account: with a DESTDIR (a staging tree) install must not create
# it; without one it must.
root="$work/root" prefix="$work/prefix"
mkdir -p "$prefix" && cp -a /etc "$prefix/etc"
! grep -q '^wg-ice:' "$prefix/etc/passwd" || userdel --prefix "$prefix" wg-ice
in_etc_copy() { unshare --mount --propagation private sh -c 'mount --bind "$0" /etc && exec "$@"' "$prefix/etc" "$@"; }
in_etc_copy make -C "$src" install DESTDIR="$root" PREFIX=/usr/local SYSTEMDUNITDIR=/usr/local/lib/systemd/system >/dev/null
! grep -q '^wg-ice:' "$prefix/etc/passwd" || fail "make install DESTDIR=... created the account wg-ice on the system"
for f in usr/local/bin/wg-ice-hook usr/local/bin/wg-ice-signal usr/local/bin/wg-ice-resolve \
         usr/local/bin/wg-ice-wireguard usr/local/share/man/man8/wg-ice-wireguard.8 \
         "usr/local/share/doc/wg-ice/examples/wg-quick@.service.d/wg-ice-wireguard.conf" \
         usr/local/share/man/man5/wg-ice.conf.5 usr/local/share/man/man8/wg-ice-signal.8 \
         usr/local/share/man/man8/wg-ice-hook.8 usr/local/share/man/man8/wg-ice-resolve.8 \
         usr/local/lib/systemd/system/wg-ice-signal.service usr/local/lib/systemd/system/wg-ice-watch.service \
         usr/local/share/bash-completion/completions/wg-ice-hook usr/local/share/zsh/vendor-completions/_wg-ice-hook \
         usr/local/share/fish/vendor_completions.d/wg-ice-hook.fish \
         usr/local/share/bash-completion/completions/wg-ice-resolve usr/local/share/zsh/vendor-completions/_wg-ice-resolve \
         usr/local/share/fish/vendor_completions.d/wg-ice-resolve.fish \
         "usr/local/share/doc/wg-ice/examples/wg-quick@.service.d/wg-ice.conf"; do
  [ -e "$root/$f" ] || fail "make install did not install $f"
done
make -C "$src" uninstall DESTDIR="$root" PREFIX=/usr/local SYSTEMDUNITDIR=/usr/local/lib/systemd/system >/dev/null
left=$(find "$root" -type f)
[ -z "$left" ] || fail "make uninstall left: $left"
in_etc_copy make -C "$src" install PREFIX="$root/usr/local" SYSTEMDUNITDIR="$root/usr/local/lib/systemd/system" >/dev/null
account_ok "$(grep '^wg-ice:' "$prefix/etc/passwd")" || fail "make install did not create the system account wg-ice"
grep -q '^wg-ice:' "$prefix/etc/group" || fail "make install did not create the group wg-ice"
in_etc_copy make -C "$src" uninstall PREFIX="$root/usr/local" SYSTEMDUNITDIR="$root/usr/local/lib/systemd/system" >/dev/null
left=$(find "$root" -type f)
[ -z "$left" ] || fail "make uninstall (no DESTDIR) left: $left"
echo "packaging: ok"
