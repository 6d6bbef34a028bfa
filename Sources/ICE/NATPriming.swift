import CNice
import Foundation
import Synchronization

/// Opens this side's NAT mapping toward a remote server-reflexive candidate before the peer's checks arrive.
///
/// A masquerading Linux gateway whose input accepts traffic to itself turns the peer's first check, if it comes
/// before we sent anything to the peer, into a conntrack entry for the gateway itself on our mapped port; our own
/// flow to the peer then clashes with it and masquerade gives it another port, on both sides, so every check
/// lands on a fresh mapping. So, on receiving such a candidate, each local UDP host socket sends a one-byte
/// datagram to it with a TTL that leaves our NAT (creating the mapping) but expires at the next router, long
/// before the peer's gateway; and libnice gets the candidate only `holdMilliseconds` later, the time the peer
/// needs to receive our candidates and prime its own gateway. docs/ARCHITECTURE.md has the reasoning.
///
/// A remote global IPv6 host candidate gets the same: behind stateful IPv6 firewalls (RFC 6092's default on home
/// routers) each side's first checks are dropped by the other's firewall until that side has sent on the flow
/// itself, so the IPv6 pair used to validate only on a retransmission, a second or more after the relay pairs.
/// There is no NAT to confuse, so these datagrams travel the whole way (the other firewall drops them, or the
/// peer's ICE socket ignores them), opening our pinhole before libnice's first check.
final class NATPriming: Sendable {
    /// Hop 1 is our gateway; the datagram dies at the router after it.
    static let ttl: CInt = 2
    /// Toward an IPv6 host candidate: the whole way, as Linux's default hop limit.
    static let pinholeHopLimit: CInt = 64
    static let holdMilliseconds: UInt32 = 100
    static let datagramsPerSocket = 2

    private struct Held {
        var candidates = 0
        /// The remote ufrag whose end-of-candidates waits for the held candidates.
        var gatheringDone: String?
    }
    private let held = Mutex(Held())

    static func applies(to remote: ICECandidate) -> Bool {
        (remote.type == .srflx && remote.transport == .udp) || RelayHold.isDirectIPv6(remote)
    }

    /// Sends the priming datagrams from the sockets of `locals`' UDP host candidates of the remote's family.
    /// Returns how many sockets sent them.
    static func prime(toward remote: ICECandidate, from locals: [ICECandidate]) -> Int {
        guard let destination = SocketAddress(remote.address, remote.port) else { return 0 }
        var primed = 0
        for local in locals where local.type == .host && local.transport == .udp && local.isIPv6 == remote.isIPv6 {
            guard let bound = SocketAddress(local.baseAddress, local.basePort),
                  let fd = bound.boundUDPDescriptor() else { continue }
            var sent = false
            let hops = remote.type == .host ? pinholeHopLimit : ttl
            for _ in 0..<datagramsPerSocket { sent = destination.sendLimited(from: fd, ttl: hops) || sent }
            if sent { primed += 1 }
        }
        return primed
    }

    var isHolding: Bool { held.withLock { $0.candidates > 0 } }

    /// Counts a candidate that is held back from libnice until `release`.
    func hold() { held.withLock { $0.candidates += 1 } }

    /// A held candidate was handed to libnice (or dropped). Returns the ufrag whose end-of-candidates can now go.
    func release() -> String? {
        held.withLock { h in
            h.candidates -= 1
            guard h.candidates == 0 else { return nil }
            defer { h.gatheringDone = nil }
            return h.gatheringDone
        }
    }

    /// Whether the peer's end-of-candidates must wait for held candidates (it then comes from `release`).
    func deferGatheringDone(ufrag: String) -> Bool {
        held.withLock { h in
            guard h.candidates > 0 else { return false }
            h.gatheringDone = ufrag
            return true
        }
    }
}

/// An IPv4 or IPv6 socket address, for finding libnice's sockets and sending from them.
struct SocketAddress {
    var storage = sockaddr_storage()
    var length: socklen_t

    init?(_ ip: String, _ port: UInt16) {
        var v4 = in_addr(), v6 = in6_addr()
        if inet_pton(AF_INET, ip, &v4) == 1 {
            var sin = sockaddr_in()
            sin.sin_family = sa_family_t(AF_INET)
            sin.sin_port = port.bigEndian
            sin.sin_addr = v4
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
            withUnsafeBytes(of: sin) { src in withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: src) } }
        } else if inet_pton(AF_INET6, ip, &v6) == 1 {
            var sin6 = sockaddr_in6()
            sin6.sin6_family = sa_family_t(AF_INET6)
            sin6.sin6_port = port.bigEndian
            sin6.sin6_addr = v6
            length = socklen_t(MemoryLayout<sockaddr_in6>.size)
            withUnsafeBytes(of: sin6) { src in withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: src) } }
        } else {
            return nil
        }
    }

    /// Family, port and address bytes: what identifies a bound socket.
    private var key: [UInt8] {
        withUnsafeBytes(of: storage) { raw in
            switch Int32(storage.ss_family) {
            case AF_INET:
                let sin = raw.load(as: sockaddr_in.self)
                return [4] + withUnsafeBytes(of: sin.sin_port, Array.init) + withUnsafeBytes(of: sin.sin_addr, Array.init)
            case AF_INET6:
                let sin6 = raw.load(as: sockaddr_in6.self)
                return [6] + withUnsafeBytes(of: sin6.sin6_port, Array.init) + withUnsafeBytes(of: sin6.sin6_addr, Array.init)
            default:
                return []
            }
        }
    }

    /// The descriptor of this process's UDP socket bound to this address. libnice does not expose its
    /// sockets; its host candidates' sockets are bound to the candidate's base address and port.
    func boundUDPDescriptor() -> CInt? {
        guard let dir = opendir("/proc/self/fd") else { return nil }
        defer { closedir(dir) }
        let want = key
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard let fd = CInt(name), fd != dirfd(dir) else { continue }
            var type: CInt = 0
            var typeLength = socklen_t(MemoryLayout<CInt>.size)
            guard getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &typeLength) == 0, type == CInt(SOCK_DGRAM.rawValue)
            else { continue }
            var bound = SocketAddress("0.0.0.0", 0)!
            bound.length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let ok = withUnsafeMutablePointer(to: &bound.storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &bound.length) == 0 }
            }
            if ok, bound.key == want { return fd }
        }
        return nil
    }

    /// Sends one byte to this address from `fd` with the given TTL (hop limit), leaving the socket's own TTL alone.
    func sendLimited(from fd: CInt, ttl: CInt) -> Bool {
        let ipv6 = Int32(storage.ss_family) == AF_INET6
        // One cmsghdr carrying an int: CMSG_SPACE/CMSG_LEN, which Swift does not import.
        let align = MemoryLayout<Int>.size
        let dataOffset = (MemoryLayout<cmsghdr>.size + align - 1) & ~(align - 1)
        let space = dataOffset + ((MemoryLayout<CInt>.size + align - 1) & ~(align - 1))
        let control = UnsafeMutableRawPointer.allocate(byteCount: space, alignment: align)
        defer { control.deallocate() }
        control.initializeMemory(as: UInt8.self, repeating: 0, count: space)
        var header = cmsghdr()
        header.cmsg_len = dataOffset + MemoryLayout<CInt>.size
        header.cmsg_level = ipv6 ? CInt(IPPROTO_IPV6) : CInt(IPPROTO_IP)
        header.cmsg_type = ipv6 ? IPV6_HOPLIMIT : IP_TTL
        control.storeBytes(of: header, as: cmsghdr.self)
        control.storeBytes(of: ttl, toByteOffset: dataOffset, as: CInt.self)
        var destination = storage
        var payload: UInt8 = 0
        return withUnsafeMutablePointer(to: &destination) { name in
            withUnsafeMutablePointer(to: &payload) { byte in
                var iov = iovec(iov_base: byte, iov_len: 1)
                return withUnsafeMutablePointer(to: &iov) { iov in
                    var message = msghdr(msg_name: name, msg_namelen: length, msg_iov: iov, msg_iovlen: 1,
                                         msg_control: control, msg_controllen: space, msg_flags: 0)
                    return sendmsg(fd, &message, CInt(MSG_DONTWAIT)) == 1
                }
            }
        }
    }
}

extension AgentCore {
    /// Gives libnice a primed remote candidate once the peer has had the time to prime its own NAT (loop thread).
    /// A candidate of an earlier generation (the peer restarted meanwhile) is dropped: the new one re-sends it.
    func handToLibniceAfterPriming(_ sdp: String) {
        let ufrag = state.withLock { $0.remoteCredentials?.ufrag }
        priming.hold()
        loop.after(milliseconds: NATPriming.holdMilliseconds) { [self] in
            guard open.withLock({ $0 }) else { return }
            let current = state.withLock { $0.remoteCredentials?.ufrag }
            if current == ufrag, let parsed = nice_agent_parse_remote_candidate_sdp(agent.raw, stream, "a=" + sdp) {
                if !setRemoteCandidate(parsed) { logger.warning("libnice rejected remote candidate \(sdp.prefix(200))") }
                nice_candidate_free(parsed)
            }
            if let done = priming.release(), done == current {
                nice_agent_peer_candidate_gathering_done(agent.raw, stream)
            }
        }
    }
}
