import Blocking
import CDatagramIO
import Foundation
import ICE
import Logging
import Synchronization
import WireGuard

/// A relayed or TCP pair (or any pair, when asked): WireGuard's endpoint is a loopback UDP socket connected
/// to WireGuard's listen port. A dedicated thread takes what WireGuard sends in batches (`recvmmsg`) and
/// hands each batch to `ICEAgent.send` at once; the agent's zero-copy receive handler queues what arrives and
/// sends each burst towards WireGuard with UDP segmentation offload (`SegmentedSender`). Preallocated
/// buffers, no allocation per packet. Being connected, the socket only accepts datagrams from WireGuard's
/// port, and WireGuard sees the peer at this socket's address, so it never roams away from it.
///
/// A proxy carries whatever pair its agent has selected, so `PathSwitch` keeps it when the selection moves
/// between two proxied pairs. Should two proxies of one agent overlap anyway, the later one's receive handler
/// wins and closing the earlier one leaves it in place.
public final class UserspaceProxy: DataPath {
    public let wireGuardEndpoint: Endpoint
    private let fd: Int32
    private let agent: ICEAgent
    private let closed = Mutex(false)
    private let stop = Stop()
    private let handler: ICEAgent.ReceiveHandlerToken

    /// Shared with the forwarding thread: close() raises `requested`, the thread signals `done` on its way out.
    private final class Stop: Sendable {
        let requested = Atomic(false)
        let done = DispatchSemaphore(value: 0)
    }

    /// Bytes asked for in SO_RCVBUF/SO_SNDBUF (the *FORCE variants pass rmem_max/wmem_max with CAP_NET_ADMIN).
    public static let socketBufferBytes: Int32 = 4 << 20
    /// Datagrams taken from WireGuard per `recvmmsg`; each slot holds the largest UDP datagram, but only the
    /// pages a datagram touches become resident.
    static let batchSize = 16
    static let slotBytes = 65536

    public init(agent: ICEAgent, wireGuardPort: UInt16, logger: Logger = Logger(label: "wg-ice.datapath")) throws {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw DataPathError.socket("socket: \(String(cString: strerror(errno)))") }
        do {
            for (force, plain) in [(SO_RCVBUFFORCE, SO_RCVBUF), (SO_SNDBUFFORCE, SO_SNDBUF)] {
                var size = Self.socketBufferBytes
                let length = socklen_t(MemoryLayout<Int32>.size)
                if setsockopt(fd, SOL_SOCKET, force, &size, length) != 0 {
                    setsockopt(fd, SOL_SOCKET, plain, &size, length)
                }
            }
            try Self.call("bind", fd, port: 0, bind)
            try Self.call("connect", fd, port: wireGuardPort, connect)
            var address = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
            }
            wireGuardEndpoint = Endpoint(address: .v4([127, 0, 0, 1]), port: UInt16(bigEndian: address.sin_port))
        } catch {
            Glibc.close(fd)
            throw error
        }
        self.fd = fd
        self.agent = agent
        let towardsWireGuard = SegmentedSender(fd: fd)
        handler = agent.setReceiveHandler({ towardsWireGuard.add($0) }, endOfBurst: { towardsWireGuard.flush() })
        let thread = Thread { [stop] in
            let (count, size) = (Self.batchSize, Self.slotBytes)
            let slots = UnsafeMutableRawPointer.allocate(byteCount: count * size, alignment: 16)
            let lengths = UnsafeMutableBufferPointer<Int>.allocate(capacity: count)
            let datagrams = UnsafeMutableBufferPointer<UnsafeRawBufferPointer>.allocate(capacity: count)
            defer { slots.deallocate(); lengths.deallocate(); datagrams.deallocate() }
            // close() sets `requested` and shuts the socket down, which makes recvmmsg return 0 datagrams
            // (or one of length 0).
            while !stop.requested.load(ordering: .acquiring) {
                let received = Int(wgice_recv_batch(fd, slots, size, UInt32(count), lengths.baseAddress))
                if received > 0 {
                    var n = 0
                    for i in 0..<received where lengths[i] > 0 {
                        datagrams[n] = UnsafeRawBufferPointer(start: slots + i * size, count: lengths[i])
                        n += 1
                    }
                    agent.send(UnsafeBufferPointer(rebasing: datagrams[..<n]))
                } else if received < 0 && errno != EINTR && errno != ECONNREFUSED {
                    break  // ECONNREFUSED: an ICMP error from a moment WireGuard was not listening
                }
            }
            stop.done.signal()
        }
        thread.name = "wg-ice-proxy"
        thread.start()
        logger.info("userspace proxy \(wireGuardEndpoint) <-> WireGuard port \(wireGuardPort)")
    }

    public func close() async {
        guard closed.withLock({ let was = $0; $0 = true; return !was }) else { return }
        agent.removeReceiveHandler(handler)
        // The handler runs on the GLib thread: one trip through it means no call still holds the descriptor.
        _ = try? await agent.loop.run {}
        stop.requested.store(true, ordering: .releasing)
        shutdown(fd, Int32(SHUT_RDWR))  // wakes the thread's recvmmsg
        await Blocking.run { [stop] in stop.done.wait() }
        Glibc.close(fd)
    }

    private static func call(_ name: String, _ fd: Int32, port: UInt16,
                             _ function: (Int32, UnsafePointer<sockaddr>, socklen_t) -> Int32) throws {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { function(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else { throw DataPathError.socket("\(name) 127.0.0.1:\(port): \(String(cString: strerror(errno)))") }
    }
}
