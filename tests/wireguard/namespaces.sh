# Two network namespaces joined by a veth pair for the userspace WireGuard tests: "ours" (wg-ice-wireguard) and
# "go" (its peer), each with a fresh key. Source it, then
#   wg_namespaces SCRIPT PREFIX V4 [V6]
# SCRIPT names the test in failures; PREFIX (two letters) starts every namespace and link name, so the cleanup
# on exit can delete each link of ours (stopping its daemon) before the namespaces; V4 and V6 are the veth
# network without its last part (10.201.0 gives .1 to ours, .2 to go; fd20:1: gives fd20:1::1 and ::2).
# Sets id, ns_ours, ns_go, work, key_ours, key_go, pub_ours, pub_go; defines in_ours, in_go and fail.
wg_namespaces() {
  wg_script="$1" wg_prefix="$2"
  id=$(( $$ % 100000 ))
  ns_ours="${wg_prefix}o$id" ns_go="${wg_prefix}g$id" work=$(mktemp -d)
  trap wg_namespaces_cleanup EXIT
  umask 077
  ip netns add "$ns_ours"
  ip netns add "$ns_go"
  ip link add "${wg_prefix}v$id" netns "$ns_ours" type veth peer name "${wg_prefix}w$id" netns "$ns_go"
  ip -n "$ns_ours" addr add "$3.1/24" dev "${wg_prefix}v$id"
  ip -n "$ns_go" addr add "$3.2/24" dev "${wg_prefix}w$id"
  if [ -n "${4:-}" ]; then
    ip -n "$ns_ours" addr add "$4:1/64" dev "${wg_prefix}v$id" nodad
    ip -n "$ns_go" addr add "$4:2/64" dev "${wg_prefix}w$id" nodad
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

fail() { echo "$wg_script: FAILED: $*" >&2; exit 1; }
in_ours() { ip netns exec "$ns_ours" "$@"; }
in_go() { ip netns exec "$ns_go" "$@"; }
