# Sourced by bench/datapath.sh and bench/session.sh.
# cpu_ticks PROGRAM NAMESPACE...: CPU time (clock ticks, user + system) used so far by the processes running
# PROGRAM in the given network namespaces.
cpu_ticks() {
  local program=$1 pid total=0; shift
  for pid in $(for ns in "$@"; do ip netns pids "$ns"; done); do
    [ "$(basename "$(readlink /proc/"$pid"/exe 2>/dev/null)")" = "$program" ] || continue
    total=$((total + $(awk '{print $14 + $15}' /proc/"$pid"/stat 2>/dev/null || echo 0)))
  done
  echo "$total"
}
