// Batched UDP I/O for the userspace proxy: recvmmsg(2) and UDP GSO need _GNU_SOURCE and cmsg macros,
// which Swift's Glibc overlay does not expose.
#ifndef DATAGRAM_IO_H
#define DATAGRAM_IO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/// Receives up to `count` datagrams into consecutive slots of `slot_size` bytes starting at `slots`,
/// waiting for the first one only, and stores their lengths in `lengths`. Returns how many, or -1 (errno).
int wgice_recv_batch(int fd, void *slots, size_t slot_size, unsigned count, size_t *lengths);

/// Sends `length` bytes as datagrams of `segment` bytes each (the last may be shorter) in one call:
/// UDP generic segmentation offload. Returns the bytes sent, or -1 (errno).
ssize_t wgice_send_segmented(int fd, const void *buffer, size_t length, uint16_t segment);

#endif
