#define _GNU_SOURCE
#include "datagram_io.h"

#include <netinet/in.h>
#include <netinet/udp.h>
#include <string.h>
#include <sys/socket.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

#define MAX_BATCH 64

int wgice_recv_batch(int fd, void *slots, size_t slot_size, unsigned count, size_t *lengths) {
    struct mmsghdr messages[MAX_BATCH];
    struct iovec vectors[MAX_BATCH];
    if (count > MAX_BATCH) count = MAX_BATCH;
    memset(messages, 0, sizeof(struct mmsghdr) * count);
    for (unsigned i = 0; i < count; i++) {
        vectors[i].iov_base = (char *)slots + i * slot_size;
        vectors[i].iov_len = slot_size;
        messages[i].msg_hdr.msg_iov = &vectors[i];
        messages[i].msg_hdr.msg_iovlen = 1;
    }
    int received = recvmmsg(fd, messages, count, MSG_WAITFORONE, NULL);
    for (int i = 0; i < received; i++) lengths[i] = messages[i].msg_len;
    return received;
}

ssize_t wgice_send_segmented(int fd, const void *buffer, size_t length, uint16_t segment) {
    struct iovec vector = { (void *)buffer, length };
    char control[CMSG_SPACE(sizeof(uint16_t))];
    memset(control, 0, sizeof(control));
    struct msghdr message = { .msg_iov = &vector, .msg_iovlen = 1,
                              .msg_control = control, .msg_controllen = sizeof(control) };
    struct cmsghdr *header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = IPPROTO_UDP;
    header->cmsg_type = UDP_SEGMENT;
    header->cmsg_len = CMSG_LEN(sizeof(uint16_t));
    memcpy(CMSG_DATA(header), &segment, sizeof(uint16_t));
    return sendmsg(fd, &message, MSG_DONTWAIT);
}
