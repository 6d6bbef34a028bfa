// Non-variadic entry points for the privilege drop: prctl(2) and syscall(2) are variadic, and glibc
// declares no capset/capget. Capability sets are per thread: call these while the process has one thread.
#ifndef CPRIVILEGES_H
#define CPRIVILEGES_H

#include <stdint.h>
#include <sys/prctl.h>

int wgice_prctl(int option, unsigned long arg2, unsigned long arg3);
/// Sets this thread's permitted, effective and inheritable sets (64-bit masks, bit n = capability n).
int wgice_capset(uint64_t permitted, uint64_t effective, uint64_t inheritable);
int wgice_capget(uint64_t *permitted, uint64_t *effective, uint64_t *inheritable);

#endif
