#!/usr/bin/env bash
# The account a session runs as. Without `User =`, the real `wg-ice-hook up --foreground` on a
# wireguard-go interface must run as the dedicated system account wg-ice where it exists, and as nobody, with a
# warning in its log, where it does not. Each case runs in its own private mount namespace whose /etc is a copy
# with or without the account, so the machine's own accounts are never touched.
set -euo pipefail
cd "$(dirname "$0")/.."
test_name=tests/session-account.sh
. tests/lib.sh
need_root
bin="$(bin_of wg-ice-hook wg-ice-signal)"
ns="cfacct$$" iface="cfac$$"
work=$(mktemp -d)
signal_pid=
cleanup() {
  [ -z "$signal_pid" ] || kill "$signal_pid" 2>/dev/null || true
  ip -n "$ns" link del "$iface" 2>/dev/null || true
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

ip netns add "$ns"
ip -n "$ns" link set lo up
ip netns exec "$ns" "$bin/wg-ice-signal" --listen ws://127.0.0.1:0 >"$work/signal.out" 2>"$work/signal.err" &
signal_pid=$!
for _ in $(seq 300); do grep -q '^listening ' "$work/signal.out" && break; sleep 0.1; done
signaling=$(sed -n 's/^listening //p' "$work/signal.out")
[ -n "$signaling" ] || fail "wg-ice-signal did not start: $(cat "$work/signal.err")"
ip netns exec "$ns" wireguard-go "$iface" >/dev/null 2>&1
key=$(wg genkey)
ip netns exec "$ns" wg set "$iface" private-key <(echo "$key")
ip -n "$ns" link set "$iface" up
cat >"$work/$iface.conf" <<CONF
[Interface]
PrivateKey = $key

#[ICE]
# Signaling = $signaling
CONF

# Two copies of /etc: one with the account (added unless the machine has it), one without (removed if it has).
for variant in with without; do
  mkdir "$work/$variant" && cp -a /etc "$work/$variant/etc"
done
grep -q '^wg-ice:' "$work/with/etc/passwd" ||
  useradd --prefix "$work/with" --system --user-group --no-create-home --home-dir /nonexistent \
    --shell /usr/sbin/nologin wg-ice
! grep -q '^wg-ice:' "$work/without/etc/passwd" || userdel --prefix "$work/without" wg-ice
uid_with=$(awk -F: '$1 == "wg-ice" {print $3}' "$work/with/etc/passwd")
gid_with=$(awk -F: '$1 == "wg-ice" {print $4}' "$work/with/etc/passwd")

# Starts the session with VARIANT's /etc, waits until it has dropped privileges, prints its /proc status
# Uid and Gid lines, stops it.
session_ids() {  # VARIANT
  local log="$work/$1.log" pid=
  ip netns exec "$ns" unshare --mount --propagation private \
    sh -c 'mount --bind "$1" /etc && exec "$2" up "$3" --config "$4" --foreground' \
    sh "$work/$1/etc" "$bin/wg-ice-hook" "$iface" "$work/$iface.conf" >/dev/null 2>"$log" &
  pid=$!
  for _ in $(seq 300); do grep -q "running as" "$log" && break; kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  grep -q "running as" "$log" || fail "$1: the session did not drop privileges: $(cat "$log")"
  grep -E '^(Uid|Gid):' "/proc/$pid/status"
  kill -TERM "$pid"
  wait "$pid" || true
}

ids=$(session_ids with)
echo "with the account: $(echo $ids)"
grep -qx "Uid:	$uid_with	$uid_with	$uid_with	$uid_with" <<<"$ids" || fail "not running as wg-ice ($uid_with): $ids"
grep -qx "Gid:	$gid_with	$gid_with	$gid_with	$gid_with" <<<"$ids" || fail "not in wg-ice's group ($gid_with): $ids"
! grep -q "no account wg-ice" "$work/with.log" || fail "a fallback warning although wg-ice exists: $(cat "$work/with.log")"

ids=$(session_ids without)
echo "without the account: $(echo $ids)"
grep -qx "Uid:	65534	65534	65534	65534" <<<"$ids" || fail "not running as nobody: $ids"
grep -q "no account wg-ice .*running as nobody" "$work/without.log" || fail "no fallback warning: $(cat "$work/without.log")"
echo "tests/session-account.sh: passed"
