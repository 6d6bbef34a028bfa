# Sourced by the NAT lab benchmarks (bench/soak.sh, bench/lab-setup.sh): root check, the debug build the lab
# runs, and `lab` on a lab of this process's own (NAME_PREFIX + pid) that is removed on exit.
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "$0: run as root (creates network namespaces)" >&2; exit 1; }
swift build --product wg-ice-hook >/dev/null && swift build --product wg-ice-signal >/dev/null || exit 1
name="$NAME_PREFIX$$"
lab() { local c="$1"; shift; scripts/lab "$c" --name "$name" "$@"; }
trap 'lab down >/dev/null 2>&1' EXIT
