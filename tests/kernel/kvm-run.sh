# Sourced by the tests that need the real kernel WireGuard module: sets kvm_run to the kvm-run tool, which
# ships beside the checkout in ../shared/tools (CI and development machines alike); KVM_RUN overrides.
# Exits the caller (named by $1) when it is missing: there is no skip.
find_kvm_run() {
  kvm_run=${KVM_RUN:-}
  for candidate in ../shared/tools/kvm-run /work/shared/tools/kvm-run; do
    [ -n "$kvm_run" ] || [ ! -x "$candidate" ] || kvm_run=$(realpath "$candidate")
  done
  kvm_run=${kvm_run:-../shared/tools/kvm-run}
  [ -x "$kvm_run" ] || { echo "$1: $kvm_run not found (set KVM_RUN)" >&2; exit 1; }
}
