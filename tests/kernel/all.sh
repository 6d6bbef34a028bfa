#!/usr/bin/env bash
# Runs inside kvm-run's VM, from tests/kernel.sh: the three kernel WireGuard parts, each in its own process (and
# namespaces), all of them even when one fails. BIN is the build's bin directory, DAEMON the wg-ice-wireguard to test.
set -uo pipefail
bin=$1 daemon=$2
cd "$(dirname "$0")/../.."
status=0
echo "== kernel: generic netlink client"
"$bin/wireguard-driver" kernel-check || status=1
echo "== kernel: the session on kernel WireGuard"
bash tests/kernel/session-lab.sh "$bin" || status=1
echo "== kernel: wg-ice-wireguard against kernel WireGuard"
bash tests/kernel/wireguard-lab.sh "$daemon" || status=1
exit "$status"
