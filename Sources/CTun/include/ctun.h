// The TUN ioctls: their request structs are unions Swift cannot build conveniently.
#ifndef CTUN_H
#define CTUN_H

/// Opens /dev/net/tun as a layer-3 device without packet info, named `name`; returns the fd or -errno.
int wgd_tun_open(const char *name);
/// Sets the MTU of interface `name`; returns 0 or -errno.
int wgd_set_mtu(const char *name, int mtu);
/// The MTU of interface `name`, or -errno.
int wgd_get_mtu(const char *name);

#endif
