import CNetlink
import Glibc

/// Kernel link appearances and disappearances from rtnetlink's RTMGRP_LINK multicast group, read without
/// blocking (the monitor polls `fd`). It may move between threads, but only one may drain it at a time.
final class LinkWatcher: @unchecked Sendable {
    enum Event: Equatable {
        case added(RTNL.Link)
        case removed(RTNL.Link)
        /// The socket overflowed (ENOBUFS): events were lost, so the caller must re-list links.
        case overrun
    }

    private let socket: NetlinkSocket
    var fd: Int32 { socket.fd }

    init() throws(WireGuardError) {
        socket = try NetlinkSocket(protocol: NETLINK_ROUTE, groups: RTNL.RTMGRP_LINK, nonBlocking: true)
    }

    /// Every event queued on the socket. RTM_NEWLINK also announces changes to existing links (up/down), so
    /// `.added` may repeat for a link; callers treat it as idempotent.
    func drain() -> [Event] {
        var events = [Event]()
        while true {
            do {
                guard let messages = try socket.receive() else { return events }
                for message in messages {
                    guard let link = RTNL.parseLink(message) else { continue }
                    events.append(message.type == RTNL.RTM_DELLINK ? .removed(link) : .added(link))
                }
            } catch let error {
                if case .system(_, let code) = error, code == ENOBUFS { events.append(.overrun); continue }
                return events
            }
        }
    }

    /// All current links, for the initial state and after an overrun.
    static func list() throws(WireGuardError) -> [RTNL.Link] {
        let socket = try NetlinkSocket(protocol: NETLINK_ROUTE)
        let sequence = socket.nextSequence()
        let reply = try socket.requestChecked(RTNL.linkDumpRequest(sequence: sequence), sequence: sequence) { code in
            .system("rtnetlink RTM_GETLINK dump", errno: code)
        }
        return reply.messages.compactMap(RTNL.parseLink)
    }
}

/// UAPI sockets created and removed in the socket directory, from inotify.
final class SocketDirectoryWatcher {
    enum Event: Equatable {
        case created(String)
        case removed(String)
    }

    let fd: Int32

    init(directory: String) throws(WireGuardError) {
        // wireguard-go creates the directory on first use; watching needs it now.
        if mkdir(directory, 0o755) != 0 && errno != EEXIST { throw .system("mkdir \(directory)", errno: errno) }
        fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else { throw .system("inotify_init1", errno: errno) }
        let mask = UInt32(IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM)
        if inotify_add_watch(fd, directory, mask) < 0 {
            let code = errno
            Glibc.close(fd)
            throw .system("inotify_add_watch \(directory)", errno: code)
        }
    }

    deinit { Glibc.close(fd) }

    /// Interface names (`X` of `X.sock`) whose socket appeared or vanished, in order. An overflowed queue
    /// reports nothing here; the monitor's periodic rescan catches up.
    func drain() -> [Event] {
        var events = [Event]()
        var buffer = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { return events }
            var offset = 0
            // struct inotify_event: wd, mask, cookie, len, then a NUL-padded name of `len` bytes.
            while offset + 16 <= n {
                let mask = buffer.readU32(at: offset + 4)
                let length = Int(buffer.readU32(at: offset + 12))
                let name = String(decoding: buffer[(offset + 16)..<min(offset + 16 + length, n)].prefix { $0 != 0 }, as: UTF8.self)
                offset += 16 + length
                guard name.hasSuffix(".sock") else { continue }
                let interface = String(name.dropLast(5))
                if mask & UInt32(IN_CREATE | IN_MOVED_TO) != 0 { events.append(.created(interface)) }
                if mask & UInt32(IN_DELETE | IN_MOVED_FROM) != 0 { events.append(.removed(interface)) }
            }
        }
    }
}
