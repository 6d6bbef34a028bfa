#define _GNU_SOURCE
#include "sticky.h"
#include "ctun.h"

#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

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

static void add_attribute(struct nlmsghdr *h, unsigned short type, const void *data, unsigned short length) {
    struct rtattr *a = (struct rtattr *)((char *)h + NLMSG_ALIGN(h->nlmsg_len));
    a->rta_type = type;
    a->rta_len = RTA_LENGTH(length);
    memcpy(RTA_DATA(a), data, length);
    h->nlmsg_len = NLMSG_ALIGN(h->nlmsg_len) + RTA_ALIGN(a->rta_len);
}

int wgd_route_interface4(const uint8_t *destination, const uint8_t *source, uint32_t mark) {
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0) return -errno;
    struct { struct nlmsghdr h; struct rtmsg r; char attributes[64]; } request;
    memset(&request, 0, sizeof request);
    request.h.nlmsg_len = NLMSG_LENGTH(sizeof request.r);
    request.h.nlmsg_type = RTM_GETROUTE;
    request.h.nlmsg_flags = NLM_F_REQUEST;
    request.r.rtm_family = AF_INET;
    request.r.rtm_dst_len = 32;
    request.r.rtm_src_len = 32;
    add_attribute(&request.h, RTA_DST, destination, 4);
    add_attribute(&request.h, RTA_SRC, source, 4);
    if (mark) add_attribute(&request.h, RTA_MARK, &mark, sizeof mark);
    int result = -ENETUNREACH;
    char reply[4096] __attribute__((aligned(NLMSG_ALIGNTO)));
    ssize_t n;
    if (send(fd, &request, request.h.nlmsg_len, 0) < 0 || (n = recv(fd, reply, sizeof reply, 0)) < 0) {
        result = -errno;
    } else {
        for (struct nlmsghdr *h = (struct nlmsghdr *)reply; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
            if (h->nlmsg_type == NLMSG_ERROR) {
                struct nlmsgerr *e = NLMSG_DATA(h);
                result = e->error < 0 ? e->error : -ENETUNREACH;
                break;
            }
            if (h->nlmsg_type != RTM_NEWROUTE) continue;
            int length = (int)RTM_PAYLOAD(h);
            for (struct rtattr *a = RTM_RTA(NLMSG_DATA(h)); RTA_OK(a, length); a = RTA_NEXT(a, length)) {
                if (a->rta_type == RTA_OIF) memcpy(&result, RTA_DATA(a), sizeof result);
            }
            break;
        }
    }
    close(fd);
    return result;
}

int wgd_route_monitor_open(void) { return wgd_rtnetlink_open(RTMGRP_IPV4_ROUTE); }

int wgd_route_monitor_read(int fd) {
    char buffer[8192] __attribute__((aligned(NLMSG_ALIGNTO)));
    int changed = 0;
    for (;;) {
        ssize_t n = recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
        // ENOBUFS: changes were lost, so something changed.
        if (n < 0) return errno == EAGAIN || errno == EINTR ? changed : errno == ENOBUFS ? 1 : -errno;
        changed = 1;
    }
}
