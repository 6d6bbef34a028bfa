import Addresses
import CNetlink
import Foundation
import Synchronization

/// What changed in the namespace's addressing: a summary for the log (the first change of a burst and how
/// many followed it within the debounce).
public struct NetworkChange: Sendable, CustomStringConvertible {
    public var first: String
    public var count: Int
    public var description: String { count > 1 ? "\(first) and \(count - 1) more" : first }
}

/// Address and default-route changes that move ICE candidates (rtnetlink RTMGRP_IPV4/IPV6_IFADDR and _ROUTE),
/// in the network namespace of the thread that created the monitor. Changes on `ignoring` (the WireGuard
/// interface itself) and on every other WireGuard interface (ICE does not gather there: another tunnel's
/// `wg-quick up` on the same host is no reason to gather again), of loopback or link-local scope, tentative
/// IPv6 addresses and non-default routes are not reported. A burst is reported once, `debounce` after its
/// last message.
///
/// The socket is opened by `init` (before a privilege drop, like the session's other connections); a dedicated
/// thread, started by `start()`, blocks in `poll` on it and on a wake-up eventfd, so nothing spins.
public final class NetworkChangeMonitor: Sendable {
    private let socket: NetlinkSocket
    private let wake: Int32
    private let ignoredIndex: UInt32
    private let socketDirectory: String
    private let debounce: Duration
    private let started = Mutex(false)

    public init(ignoring interface: String, socketDirectory: String = WireGuard.defaultSocketDirectory,
                debounce: Duration = .milliseconds(300)) throws(WireGuardError) {
        socket = try NetlinkSocket(protocol: NETLINK_ROUTE, groups: RTNLAddr.groups, nonBlocking: true)
        wake = eventfd(0, Int32(EFD_CLOEXEC | EFD_NONBLOCK))
        guard wake >= 0 else { throw .system("eventfd", errno: errno) }
        ignoredIndex = if_nametoindex(interface)
        self.socketDirectory = socketDirectory
        self.debounce = debounce
    }

    deinit { close(wake) }

    /// Starts the thread; the stream ends after `cancel()`. Call once.
    public func start() -> AsyncStream<NetworkChange> {
        let (stream, continuation) = AsyncStream.makeStream(of: NetworkChange.self, bufferingPolicy: .bufferingNewest(8))
        guard started.withLock({ let was = $0; $0 = true; return !was }) else {
            continuation.finish()
            return stream
        }
        continuation.onTermination = { [weak self] _ in self?.cancel() }
        Thread { [self] in
            run(continuation)
            continuation.finish()
        }.start()
        return stream
    }

    public func cancel() {
        var one: UInt64 = 1
        _ = write(wake, &one, 8)
    }

    private func run(_ continuation: AsyncStream<NetworkChange>.Continuation) {
        var pending: NetworkChange?
        var quietAt = ContinuousClock.now
        // Indexes stay known after their link is gone: its addresses' removal comes after the link's.
        var wireGuardIndexes: Set<UInt32> = [ignoredIndex]
        func learnWireGuardIndexes() {
            for name in WireGuard.interfaceNames(socketDirectory: socketDirectory) {
                let index = if_nametoindex(name)
                if index != 0 { wireGuardIndexes.insert(index) }
            }
        }
        learnWireGuardIndexes()
        while true {
            let timeout: Int32
            if pending != nil {
                let left = ContinuousClock.now.duration(to: quietAt)
                timeout = max(0, Int32(left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000))
            } else {
                timeout = -1
            }
            var fds = [pollfd(fd: wake, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: socket.fd, events: Int16(POLLIN), revents: 0)]
            let rc = poll(&fds, nfds_t(fds.count), timeout)
            if rc < 0 && errno != EINTR { return }
            if fds[0].revents != 0 { return }
            if fds[1].revents != 0 {
                learnWireGuardIndexes()
                for change in drain(ignoring: wireGuardIndexes) {
                    if pending == nil { pending = NetworkChange(first: change, count: 0) }
                    pending?.count += 1
                    quietAt = ContinuousClock.now + debounce
                }
            }
            if let change = pending, ContinuousClock.now >= quietAt {
                continuation.yield(change)
                pending = nil
            }
        }
    }

    /// The relevant changes queued on the socket, described.
    private func drain(ignoring ignored: Set<UInt32>) -> [String] {
        var changes = [String]()
        while true {
            do {
                guard let messages = try socket.receive() else { return changes }
                changes += messages.compactMap { RTNLAddr.describe($0, ignoring: ignored) }
            } catch let error {
                // Lost messages (ENOBUFS) may have been changes: report one.
                if case .system(_, let code) = error, code == ENOBUFS { changes.append("netlink overrun"); continue }
                return changes
            }
        }
    }
}

/// rtnetlink address and route messages (<linux/if_addr.h>, <linux/rtnetlink.h>).
enum RTNLAddr {
    static let RTM_NEWADDR: UInt16 = 20, RTM_DELADDR: UInt16 = 21, RTM_NEWROUTE: UInt16 = 24, RTM_DELROUTE: UInt16 = 25
    static let groups: UInt32 = 0x10 | 0x40 | 0x100 | 0x400  // RTMGRP_IPV4_IFADDR, _IPV4_ROUTE, _IPV6_IFADDR, _IPV6_ROUTE
    static let IFA_ADDRESS: UInt16 = 1, IFA_LOCAL: UInt16 = 2
    static let IFA_F_TENTATIVE: UInt8 = 0x40
    static let RT_SCOPE_LINK: UInt8 = 253, RT_TABLE_LOCAL: UInt8 = 255
    static let RTA_OIF: UInt16 = 4
    static let RTM_F_CLONED: UInt32 = 0x200
    static let ifaddrmsgLength = 8, rtmsgLength = 12

    /// A description of a change ICE cares about, or nil.
    static func describe(_ message: NetlinkMessage, ignoring ignored: Set<UInt32>) -> String? {
        let p = message.payload, base = p.startIndex
        switch message.type {
        case RTM_NEWADDR, RTM_DELADDR:
            guard p.count >= ifaddrmsgLength else { return nil }
            let family = p[base], flags = p[base + 2], scope = p[base + 3], index = p.readU32(at: base + 4)
            // Link-local and host scope (fe80::/10, loopback) give no candidate worth a new gathering.
            guard !ignored.contains(index), scope < RT_SCOPE_LINK, flags & IFA_F_TENTATIVE == 0,
                  let attributes = NetlinkAttribute.parse(p.dropFirst(ifaddrmsgLength)) else { return nil }
            let address = (attributes.first { $0.type == IFA_LOCAL } ?? attributes.first { $0.type == IFA_ADDRESS })
                .flatMap { text(family: family, $0.payload) } ?? "?"
            return "address \(address) \(message.type == RTM_NEWADDR ? "added" : "removed")"
        case RTM_NEWROUTE, RTM_DELROUTE:
            guard p.count >= rtmsgLength else { return nil }
            let family = p[base], destinationLength = p[base + 1], table = p[base + 4]
            let flags = p.readU32(at: base + 8)
            // Only default routes choose the source address (and so the server-reflexive candidate).
            guard destinationLength == 0, table != RT_TABLE_LOCAL, flags & RTM_F_CLONED == 0,
                  let attributes = NetlinkAttribute.parse(p.dropFirst(rtmsgLength)) else { return nil }
            if let oif = attributes.first(where: { $0.type == RTA_OIF })?.u32, ignored.contains(oif) { return nil }
            return "IPv\(Int32(family) == AF_INET6 ? 6 : 4) default route \(message.type == RTM_NEWROUTE ? "added" : "removed")"
        default:
            return nil
        }
    }

    private static func text(family: UInt8, _ bytes: ArraySlice<UInt8>) -> String? {
        let af = Int32(family)
        guard (af == AF_INET && bytes.count >= 4) || (af == AF_INET6 && bytes.count >= 16) else { return nil }
        return IPAddress(bytes: Array(bytes.prefix(af == AF_INET ? 4 : 16)))?.description
    }
}
