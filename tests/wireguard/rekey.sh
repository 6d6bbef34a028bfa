# Sourced by tests/wireguard-interop.sh (against wireguard-go) and tests/kernel/wireguard-lab.sh (against kernel
# WireGuard): rekeying and REJECT_AFTER_TIME of wg-ice-wireguard, with its timers divided by rekey_divisor. Only a
# debug build honours WG_ICE_WIREGUARD_TIME_DIVISOR (Sources/WireGuardDaemon/Protocol.swift), so start the daemon
# with the variable from a debug build. The caller defines fail().
rekey_divisor=20 # REKEY_AFTER_TIME 6 s, REJECT_AFTER_TIME 9 s, REKEY_TIMEOUT 0.25 s, KEEPALIVE_TIMEOUT 0.5 s

rekey_counter() { # ns name
  ip netns exec "$1" nft list counter inet wgrekey "$2" | awk '$1 == "packets" {print $2}'
}

# Our daemon in ns_ours is the initiator of the current session (only the initiator rekeys on time) with the
# peer's endpoint on UDP port peer_port. Message types are counted by their first byte in our namespace.
rekey_check() { # ns_ours ours_if ours_ip ns_peer peer_if peer_ip peer_port
  local ns_ours=$1 ours_if=$2 ours_ip=$3 ns_peer=$4 peer_if=$5 peer_ip=$6 port=$7
  ip netns exec "$ns_ours" nft -f - <<NFT
table inet wgrekey {
  counter responses {}
  counter data_out {}
  counter data_in {}
  chain out { type filter hook output priority 0; policy accept;
    udp dport $port @th,64,8 4 counter name data_out
  }
  chain in { type filter hook input priority 0; policy accept;
    udp sport $port @th,64,8 2 counter name responses
    udp sport $port @th,64,8 4 counter name data_in
  }
}
NFT
  # 1. 160 pings at 10/s: the initiator's REKEY_AFTER_TIME (6 s) makes a new handshake every 6 s while the old
  # keys still carry the traffic, so not one ping is lost. Our handshake times (whole seconds) are polled: the
  # rekeys during the ping come 6 s apart; without the time rekey the receive-side rekey (8.25 s) or
  # REJECT_AFTER_TIME (9 s) would space them 8 s or more.
  # (Counting them per ping would not do: under emulation the 160 pings take 16 to 30 s.)
  local hs_before out times
  hs_before=$(ip netns exec "$ns_peer" wg show "$peer_if" latest-handshakes | awk '{print $2}')
  times=$(mktemp)
  # (wg show, not the UAPI's nanoseconds through Python: Python takes 20 s to start under emulation.)
  (
    last=$(ip netns exec "$ns_ours" wg show "$ours_if" latest-handshakes | awk '{print $2}')
    while :; do
      t=$(ip netns exec "$ns_ours" wg show "$ours_if" latest-handshakes | awk '{print $2}')
      if [ "${t:-0}" != 0 ] && [ "$t" != "$last" ]; then echo "$t" >>"$times"; last=$t; fi
      sleep 0.1
    done
  ) &
  local poller=$!
  out=$(ip netns exec "$ns_ours" ping -c 160 -i 0.1 -W 2 -q "$peer_ip") || true
  kill "$poller"; wait "$poller" 2>/dev/null || true
  local sent received responses hs_after intervals
  sent=$(echo "$out" | sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p')
  received=$(echo "$out" | sed -n 's/.* \([0-9]*\) received.*/\1/p')
  responses=$(rekey_counter "$ns_ours" responses)
  hs_after=$(ip netns exec "$ns_peer" wg show "$peer_if" latest-handshakes | awk '{print $2}')
  intervals=$(awk 'NR > 1 {printf "%s%d", sep, $1 - prev; sep = " "} {prev = $1}' "$times")
  rm -f "$times"
  echo "  rekey: $responses handshakes, $received of $sent pings answered, seconds between the rekeys: $intervals"
  [ "$responses" -ge 2 ] || fail "only $responses handshake responses (is the daemon a debug build?)"
  [ "$(echo "$intervals" | wc -w)" -ge 1 ] || fail "fewer than two rekeys seen during the ping"
  for interval in $intervals; do
    [ "$interval" -ge 5 ] && [ "$interval" -le 7 ] || fail "a rekey $interval s after the previous handshake (REKEY_AFTER_TIME is 6 s): $intervals"
  done
  [ "$sent" = 160 ] && [ "$received" = "$sent" ] || fail "ping lost $(( sent - received )) of $sent across the rekeys"
  [ "$hs_after" -gt "$hs_before" ] || fail "the peer's latest handshake did not advance: $hs_before, then $hs_after"
  [ "$(rekey_counter "$ns_ours" data_out)" -ge 160 ] || fail "the transport packets were not counted: the REJECT check proves nothing"

  # 2. Handshakes blocked both ways: once REJECT_AFTER_TIME has passed since the last one (9 s at most), our
  # daemon must neither send with the old keys nor accept what the peer (whose own timers are not shortened)
  # still sends with them. Both sides ping throughout.
  ip netns exec "$ns_ours" nft add rule inet wgrekey out udp dport "$port" @th,64,8 != 4 drop
  ip netns exec "$ns_ours" nft add rule inet wgrekey in udp sport "$port" @th,64,8 != 4 drop
  ip netns exec "$ns_ours" ping -c 140 -i 0.1 -W 1 -q "$peer_ip" >/dev/null 2>&1 &
  local ping_ours=$!
  ip netns exec "$ns_peer" ping -c 140 -i 0.1 -W 1 -q "$ours_ip" >/dev/null 2>&1 &
  local ping_peer=$!
  local out1 out2 in1 in2 rx1 rx2
  sleep 10.5
  out1=$(rekey_counter "$ns_ours" data_out) in1=$(rekey_counter "$ns_ours" data_in)
  rx1=$(ip netns exec "$ns_ours" cat "/sys/class/net/$ours_if/statistics/rx_packets")
  sleep 2.5
  out2=$(rekey_counter "$ns_ours" data_out) in2=$(rekey_counter "$ns_ours" data_in)
  rx2=$(ip netns exec "$ns_ours" cat "/sys/class/net/$ours_if/statistics/rx_packets")
  wait "$ping_ours" "$ping_peer" || true
  echo "  reject: after REJECT_AFTER_TIME $(( out2 - out1 )) transport packets sent, $(( in2 - in1 )) arrived, $(( rx2 - rx1 )) delivered"
  [ "$out2" = "$out1" ] || fail "$(( out2 - out1 )) transport packets sent with keys older than REJECT_AFTER_TIME"
  [ "$in2" -gt "$in1" ] || fail "the peer sent nothing with its old keys: the receive check proves nothing"
  [ "$rx2" = "$rx1" ] || fail "$(( rx2 - rx1 )) packets delivered that came with keys older than REJECT_AFTER_TIME"

  # 3. Handshakes allowed again: the next packet makes a new session.
  ip netns exec "$ns_ours" nft delete table inet wgrekey
  ip netns exec "$ns_ours" ping -c 3 -i 0.2 -W 2 -q "$peer_ip" >/dev/null || fail "no new session after the handshakes were unblocked"
  local hs_new
  hs_new=$(ip netns exec "$ns_peer" wg show "$peer_if" latest-handshakes | awk '{print $2}')
  echo "  peer's latest handshake: $hs_before before the rekeys, $hs_after after, $hs_new after the unblocking (now $(date +%s))"
  [ "$hs_new" -gt "$hs_after" ] || fail "ping after the unblocking went without a new handshake"
}
