// The TUN ioctls: their request structs are unions Swift cannot build conveniently.
#ifndef CTUN_H
#define CTUN_H

/// Opens /dev/net/tun as a layer-3 device without packet info, named `name`; returns the fd or -errno.
int wgd_tun_open(const char *name);
/// Sets the MTU of interface `name`; returns 0 or -errno.
int wgd_set_mtu(const char *name, int mtu);
/// The MTU of interface `name`, or -errno.
int wgd_get_mtu(const char *name);
/// A netlink socket that receives the link changes of every interface (RTMGRP_LINK), non-blocking; fd or -errno.
int wgd_link_monitor_open(void);
/// A non-blocking rtnetlink socket bound to the multicast `groups` (RTMGRP_*); fd or -errno.
int wgd_rtnetlink_open(unsigned int groups);
/// Reads the waiting link messages for interface `ifindex`: `*up` follows its IFF_UP flag, and `*went_down` is
/// set if it went from up to down on the way (a down and up between two reads is not lost). 0, 1 once the
/// interface leaves this namespace (deleted, or moved to another: wgd_tun_attached tells which), or -errno.
int wgd_link_monitor_read(int fd, int ifindex, int *up, int *went_down);
/// Whether the TUN file `fd` still has its interface: 1, 0 once the interface is deleted (the kernel detaches
/// the file), or -errno. A link moved to another network namespace keeps its file.
int wgd_tun_attached(int fd);
/// Whether interface `name` is administratively up: 1, 0, or -errno.
int wgd_link_is_up(const char *name);

#include "sticky.h"

#endif
