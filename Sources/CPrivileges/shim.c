#include "cprivileges.h"

#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int wgice_prctl(int option, unsigned long arg2, unsigned long arg3) {
    return prctl(option, arg2, arg3, 0UL, 0UL);
}

int wgice_capset(uint64_t permitted, uint64_t effective, uint64_t inheritable) {
    struct __user_cap_header_struct header = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct data[2] = {
        { (uint32_t)effective, (uint32_t)permitted, (uint32_t)inheritable },
        { (uint32_t)(effective >> 32), (uint32_t)(permitted >> 32), (uint32_t)(inheritable >> 32) },
    };
    return (int)syscall(SYS_capset, &header, data);
}

int wgice_capget(uint64_t *permitted, uint64_t *effective, uint64_t *inheritable) {
    struct __user_cap_header_struct header = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct data[2];
    if (syscall(SYS_capget, &header, data) != 0) return -1;
    *permitted = (uint64_t)data[1].permitted << 32 | data[0].permitted;
    *effective = (uint64_t)data[1].effective << 32 | data[0].effective;
    *inheritable = (uint64_t)data[1].inheritable << 32 | data[0].inheritable;
    return 0;
}
