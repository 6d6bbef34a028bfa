import CDatagramIO
import Glibc

/// Coalesces the datagrams the agent hands over in one burst into UDP GSO sends towards WireGuard: one
/// `sendmsg` and one trip through the loopback stack for up to `maxSegments` equal-sized datagrams, which
/// is what a bulk transfer is made of. Only ever used on the agent's GLib thread.
final class SegmentedSender: @unchecked Sendable {
    /// The kernel's UDP_MAX_SEGMENTS on older kernels.
    static let maxSegments = 64
    /// The largest UDP payload over IPv4.
    static let maxBytes = 65507

    private let fd: Int32
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: maxBytes, alignment: 16)
    private var length = 0
    private var segment = 0
    private var count = 0
    /// Cleared when the kernel refuses UDP_SEGMENT; datagrams then go one `send` each.
    private var segmentationWorks = true

    init(fd: Int32) { self.fd = fd }

    deinit { buffer.deallocate() }

    /// Queues `datagram`. A batch is one size of datagram, optionally ended by one shorter datagram, so a
    /// longer one or a full batch sends what is queued first.
    func add(_ datagram: UnsafeRawBufferPointer) {
        guard segmentationWorks, datagram.count <= UInt16.max else { return sendAlone(datagram) }
        if count > 0, datagram.count > segment || length + datagram.count > Self.maxBytes { flush() }
        buffer.baseAddress!.advanced(by: length).copyMemory(from: datagram.baseAddress!, byteCount: datagram.count)
        if count == 0 { segment = datagram.count }
        length += datagram.count
        count += 1
        if datagram.count < segment || count == Self.maxSegments { flush() }
    }

    /// Sends what is queued. Non-blocking: a full socket buffer drops the batch, as the network would.
    func flush() {
        defer { length = 0; count = 0 }
        switch count {
        case 0: return
        case 1: _ = send(fd, buffer.baseAddress, length, Int32(MSG_DONTWAIT))
        default:
            if wgice_send_segmented(fd, buffer.baseAddress, length, UInt16(segment)) < 0,
               errno == EINVAL || errno == EIO || errno == ENOPROTOOPT {
                segmentationWorks = false
                var offset = 0
                while offset < length {
                    let size = min(segment, length - offset)
                    _ = send(fd, buffer.baseAddress! + offset, size, Int32(MSG_DONTWAIT))
                    offset += size
                }
            }
        }
    }

    private func sendAlone(_ datagram: UnsafeRawBufferPointer) {
        flush()
        _ = send(fd, datagram.baseAddress, datagram.count, Int32(MSG_DONTWAIT))
    }
}
