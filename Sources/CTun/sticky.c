#define _GNU_SOURCE
#include "sticky.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>

int wgd_enable_pktinfo(int fd, int family) {
    int one = 1;
    int r = family == AF_INET6 ? setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one)
                               : setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one);
    return r < 0 ? -errno : 0;
}

ssize_t wgd_recv_sticky(int fd, void *buffer, size_t length, struct sockaddr_storage *from, struct wgd_source *to,
                        int *has_to) {
    union { char bytes[CMSG_SPACE(sizeof(struct in6_pktinfo))]; struct cmsghdr align; } control;
    struct iovec iov = { .iov_base = buffer, .iov_len = length };
    struct msghdr msg = {
        .msg_name = from, .msg_namelen = sizeof *from, .msg_iov = &iov, .msg_iovlen = 1,
        .msg_control = control.bytes, .msg_controllen = sizeof control.bytes,
    };
    ssize_t n = recvmsg(fd, &msg, MSG_DONTWAIT);
    if (n < 0) return -errno;
    *has_to = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
            struct in_pktinfo info;
            memcpy(&info, CMSG_DATA(c), sizeof info);
            memset(to, 0, sizeof *to);
            // ipi_spec_dst: the local address the datagram was for, which the reply must come from.
            memcpy(to->address, &info.ipi_spec_dst, 4);
            to->ifindex = (uint32_t)info.ipi_ifindex;
            *has_to = 1;
        } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
            struct in6_pktinfo info;
            memcpy(&info, CMSG_DATA(c), sizeof info);
            memcpy(to->address, &info.ipi6_addr, 16);
            to->ifindex = info.ipi6_ifindex;
            *has_to = 1;
        }
    }
    return n;
}

ssize_t wgd_send_sticky(int fd, const void *buffer, size_t length, const struct sockaddr *to, socklen_t to_length,
                        const struct wgd_source *source) {
    union { char bytes[CMSG_SPACE(sizeof(struct in6_pktinfo))]; struct cmsghdr align; } control;
    struct iovec iov = { .iov_base = (void *)buffer, .iov_len = length };
    struct msghdr msg = { .msg_name = (void *)to, .msg_namelen = to_length, .msg_iov = &iov, .msg_iovlen = 1 };
    if (source) {
        memset(&control, 0, sizeof control);
        msg.msg_control = control.bytes;
        struct cmsghdr *c = (struct cmsghdr *)control.bytes;
        if (to->sa_family == AF_INET6) {
            // Only the source address: an interface given here would override the routing policy (a fwmark's
            // rules, as `wg set fwmark` asks for). A link-local address means nothing without its interface.
            int link_local = source->address[0] == 0xfe && (source->address[1] & 0xc0) == 0x80;
            struct in6_pktinfo info = { .ipi6_ifindex = link_local ? source->ifindex : 0 };
            memcpy(&info.ipi6_addr, source->address, 16);
            c->cmsg_level = IPPROTO_IPV6;
            c->cmsg_type = IPV6_PKTINFO;
            c->cmsg_len = CMSG_LEN(sizeof info);
            memcpy(CMSG_DATA(c), &info, sizeof info);
            msg.msg_controllen = CMSG_SPACE(sizeof info);
        } else {
            // Only the source address, for the same reason (the routing policy decides the way out).
            struct in_pktinfo info = { .ipi_ifindex = 0 };
            memcpy(&info.ipi_spec_dst, source->address, 4);
            c->cmsg_level = IPPROTO_IP;
            c->cmsg_type = IP_PKTINFO;
            c->cmsg_len = CMSG_LEN(sizeof info);
            memcpy(CMSG_DATA(c), &info, sizeof info);
            msg.msg_controllen = CMSG_SPACE(sizeof info);
        }
    }
    ssize_t n = sendmsg(fd, &msg, MSG_NOSIGNAL);
    return n < 0 ? -errno : n;
}
