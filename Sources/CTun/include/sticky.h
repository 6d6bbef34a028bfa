// Sticky source addresses: the local address a datagram arrived at (IP_PKTINFO, IPV6_RECVPKTINFO) and replies
// sent from it (sendmsg with the same control message). The cmsg macros are not exposed to Swift.
#ifndef CTUN_STICKY_H
#define CTUN_STICKY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

/// Our address (4 bytes for IPv4, 16 for IPv6, network order) and the interface it was reached on.
struct wgd_source {
    uint8_t address[16];
    uint32_t ifindex;
};

/// Asks the kernel for the local address of every datagram on `fd` (an AF_INET or AF_INET6 socket). 0 or -errno.
int wgd_enable_pktinfo(int fd, int family);
/// One datagram into `buffer`: the sender into `from`, our address into `to` (`*has_to` 0 if the kernel gave
/// none). Returns its length or -errno.
ssize_t wgd_recv_sticky(int fd, void *buffer, size_t length, struct sockaddr_storage *from, struct wgd_source *to,
                        int *has_to);
/// Sends from `source` (NULL: the kernel chooses) to `to`. Returns the bytes sent or -errno.
ssize_t wgd_send_sticky(int fd, const void *buffer, size_t length, const struct sockaddr *to, socklen_t to_length,
                        const struct wgd_source *source);

/// The interface the kernel would send an IPv4 datagram to `destination` by, from `source` (both 4 bytes,
/// network order), with firewall mark `mark`: `ip route get DESTINATION from SOURCE mark MARK`. The ifindex, or
/// -errno (-EINVAL when `source` is not ours, -ENETUNREACH when nothing routes).
int wgd_route_interface4(const uint8_t *destination, const uint8_t *source, uint32_t mark);
/// A netlink socket told of every change to the IPv4 routes (addresses added and removed change the local
/// table too), non-blocking; fd or -errno.
int wgd_route_monitor_open(void);
/// Reads what waits on the route monitor: 1 if any route changed, 0 if nothing did, or -errno.
int wgd_route_monitor_read(int fd);

#endif
