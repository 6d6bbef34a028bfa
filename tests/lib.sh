# Sourced by the test scripts under tests/: the helpers they share. Set test_name before sourcing; define
# fail_hook to print what a failure should show (wg show, rulesets) before the script exits.
#   fail MESSAGE            print "$test_name: FAILED: MESSAGE" (after fail_hook), exit 1
#   need_root               exit 1 unless run as root
#   bin_of TOOL...          the build's bin directory, after checking each TOOL is built there
#   wg_namespaces PREFIX V4 [V6]   two namespaces "ours" and "go" joined by a veth pair (below)
#   check_show OURS_IFACE OTHER_IFACE OTHER_RUNNER   both sides of one session agree in `wg show`
#   ping_both NS V4 V6      three pings of each address from NS
test_name=${test_name:-$(basename "$0")}

fail() {
  echo "$test_name: FAILED: $*" >&2
  if declare -F fail_hook >/dev/null; then fail_hook >&2 || true; fi
  exit 1
}

need_root() { [ "$(id -u)" = 0 ] || { echo "$test_name: run as root (network namespaces)" >&2; exit 1; }; }

bin_of() {
  local bin tool; bin="$(swift build --show-bin-path)"
  for tool in "$@"; do [ -x "$bin/$tool" ] || { echo "$test_name: $bin/$tool not built (swift build --build-tests)" >&2; exit 1; }; done
  echo "$bin"
}

# Two network namespaces joined by a veth pair, for the userspace WireGuard tests: "ours" (wg-ice-wireguard) and
# "go" (its peer), each with a fresh key. PREFIX (two letters) starts every namespace and link name, so the cleanup
# on exit can delete each link of ours (stopping its daemon) before the namespaces; V4 and V6 are the veth
# network without its last part (10.201.0 gives .1 to ours, .2 to go; fd20:1: gives fd20:1::1 and ::2).
# Sets id, ns_ours, ns_go, work, key_ours, key_go, pub_ours, pub_go; defines in_ours and in_go.
wg_namespaces() {
  wg_prefix="$1"
  id=$(( $$ % 100000 ))
  ns_ours="${wg_prefix}o$id" ns_go="${wg_prefix}g$id" work=$(mktemp -d)
  trap wg_namespaces_cleanup EXIT
  umask 077
  ip netns add "$ns_ours"
  ip netns add "$ns_go"
  ip link add "${wg_prefix}v$id" netns "$ns_ours" type veth peer name "${wg_prefix}w$id" netns "$ns_go"
  ip -n "$ns_ours" addr add "$2.1/24" dev "${wg_prefix}v$id"
  ip -n "$ns_go" addr add "$2.2/24" dev "${wg_prefix}w$id"
  if [ -n "${3:-}" ]; then
    ip -n "$ns_ours" addr add "$3:1/64" dev "${wg_prefix}v$id" nodad
    ip -n "$ns_go" addr add "$3:2/64" dev "${wg_prefix}w$id" nodad
  fi
  for ns in "$ns_ours" "$ns_go"; do ip -n "$ns" link set lo up; done
  ip -n "$ns_ours" link set "${wg_prefix}v$id" up
  ip -n "$ns_go" link set "${wg_prefix}w$id" up
  key_ours=$(wg genkey) key_go=$(wg genkey)
  pub_ours=$(echo "$key_ours" | wg pubkey) pub_go=$(echo "$key_go" | wg pubkey)
}

wg_namespaces_cleanup() {
  for ns in "$ns_ours" "$ns_go"; do
    for link in $(ip -n "$ns" -o link show 2>/dev/null | awk -F': ' -v p="^$wg_prefix" '$2 ~ p { sub(/@.*/, "", $2); print $2 }'); do
      ip -n "$ns" link del "$link" 2>/dev/null || true
    done
    ip netns del "$ns" 2>/dev/null || true
  done
  rm -rf "$work"
}
in_ours() { ip netns exec "$ns_ours" "$@"; }
in_go() { ip netns exec "$ns_go" "$@"; }

# The two sides' view of one session must agree: both saw a handshake (1 s resolution), and what one sent the
# other received. OTHER_RUNNER runs a command where the other side lives (in_go, in_kernel).
check_show() { # ours-iface other-iface other-runner
  local hs_ours hs_other rx_ours tx_ours rx_other tx_other
  hs_ours=$(in_ours wg show "$1" latest-handshakes | awk '{print $2}')
  hs_other=$("$3" wg show "$2" latest-handshakes | awk '{print $2}')
  [ "${hs_ours:-0}" -gt 0 ] && [ "${hs_other:-0}" -gt 0 ] || fail "latest handshake: ours ${hs_ours:-none}, $2 ${hs_other:-none}"
  [ $(( hs_ours - hs_other )) -le 2 ] && [ $(( hs_other - hs_ours )) -le 2 ] || fail "handshake times differ: $hs_ours vs $hs_other"
  for _ in $(seq 30); do
    read -r _ rx_ours tx_ours < <(in_ours wg show "$1" transfer)
    read -r _ rx_other tx_other < <("$3" wg show "$2" transfer)
    [ "$rx_ours" = "$tx_other" ] && [ "$tx_ours" = "$rx_other" ] && break
    sleep 0.2
  done
  [ "$rx_ours" = "$tx_other" ] && [ "$tx_ours" = "$rx_other" ] \
    || fail "transfer: ours rx $rx_ours tx $tx_ours, $2 rx $rx_other tx $tx_other"
  [ "$rx_ours" -gt 0 ] || fail "no bytes counted"
  echo "  wg show: handshake $hs_ours / $hs_other, ours rx $rx_ours tx $tx_ours = $2 tx $tx_other rx $rx_other"
}

ping_both() { # from-namespace v4 v6
  ip netns exec "$1" ping -c 3 -i 0.2 -W 3 -q "$2" >/dev/null || fail "ping $2 from $1"
  ip netns exec "$1" ping -c 3 -i 0.2 -W 3 -q "$3" >/dev/null || fail "ping $3 from $1"
}
