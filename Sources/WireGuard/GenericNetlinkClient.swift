import CNetlink
import Glibc
import Synchronization

/// Controls kernel WireGuard over generic netlink (wireguard-tools' ipc-linux.h, on plain sockets).
/// The socket is bound to the network namespace of the thread that creates the client.
public final class GenericNetlinkClient: WireGuardControl {
    public let interface: String
    private let family: UInt16
    private let messageLimit: Int
    private let socket: Mutex<NetlinkSocket?>
    private let restarts = Atomic<Int>(0)

    /// How many GET_DEVICE dumps were started over because a change raced them (NLM_F_DUMP_INTR).
    public var restartedDumps: Int { restarts.load(ordering: .relaxed) }

    /// `messageLimit` caps each SET_DEVICE message; the default is wireguard-tools' choice.
    public init(interface: String, messageLimit: Int = GenericNetlinkClient.defaultMessageLimit) throws(WireGuardError) {
        self.interface = interface
        self.messageLimit = messageLimit
        let socket = try NetlinkSocket(protocol: NETLINK_GENERIC)
        family = try GenericNetlinkClient.resolveFamily(socket)
        self.socket = Mutex(socket)
    }

    /// wireguard-tools' SOCKET_BUFFER_SIZE: the page size, at most 8 KiB (so 4 KiB on x86-64).
    public static let defaultMessageLimit = WireGuardNetlinkCodec.defaultMessageLimit

    public func close() { socket.withLock { $0 = nil } }

    public func device() throws(WireGuardError) -> Device {
        try withSocket { (socket) throws(WireGuardError) -> Device in
            // The kernel flags a dump that raced a change with NLM_F_DUMP_INTR; like wg(8), start over.
            for _ in 0..<100 {
                let sequence = socket.nextSequence()
                let request = WireGuardNetlinkCodec.getRequest(family: family, interface: interface, sequence: sequence)
                let reply = try socket.requestChecked(request, sequence: sequence) { self.error($0, part: nil) }
                if !reply.interrupted {
                    return try WireGuardNetlinkCodec.decodeDevice(reply.messages, interface: interface)
                }
                restarts.add(1, ordering: .relaxed)
            }
            throw .protocolError(interface: interface, "GET_DEVICE dump interrupted 100 times in a row")
        }
    }

    public func apply(_ change: DeviceChange) throws(WireGuardError) {
        try withSocket { (socket) throws(WireGuardError) in
            let messages = WireGuardNetlinkCodec.setMessages(change, interface: interface, family: family,
                                                              firstSequence: socket.nextSequence(), limit: messageLimit)
            for (index, message) in messages.enumerated() {
                let sequence = message.bytes.readU32(at: 8)
                _ = try socket.requestChecked(message.bytes, sequence: sequence) { code in
                    var part = "SET_DEVICE message \(index + 1) of \(messages.count)"
                    if let first = message.peers.first {
                        part += message.peers.count == 1 ? " (peer \(first))" : " (peers \(first) … \(message.peers.last!))"
                    }
                    return self.error(code, part: part)
                }
            }
            // Keep later sequence numbers clear of the ones the split request used.
            for _ in 1..<max(messages.count, 1) { _ = socket.nextSequence() }
        }
    }

    private func withSocket<T: Sendable>(_ body: (NetlinkSocket) throws(WireGuardError) -> T) throws(WireGuardError) -> T {
        try socket.withLock { (socket: inout NetlinkSocket?) throws(WireGuardError) -> T in
            guard let socket else { throw .protocolError(interface: interface, "netlink client closed") }
            return try body(socket)
        }
    }

    private func error(_ code: Int32, part: String?) -> WireGuardError {
        switch code {
        case ENODEV: .noSuchInterface(interface)
        case EPERM, EACCES: .permissionDenied("\(interface): WireGuard netlink")
        case EOPNOTSUPP: .notSupported("\(interface): not a kernel WireGuard interface (EOPNOTSUPP)")
        default: .rejected(interface: interface, errno: code, rejected: part)
        }
    }

    private static func resolveFamily(_ socket: NetlinkSocket) throws(WireGuardError) -> UInt16 {
        let sequence = socket.nextSequence()
        var w = NetlinkWriter(type: WG.GENL_ID_CTRL, flags: NL.NLM_F_REQUEST | NL.NLM_F_ACK, sequence: sequence,
                              extraHeader: WireGuardNetlinkCodec.genlHeader(WG.CTRL_CMD_GETFAMILY, version: 1))
        w.putString(WG.CTRL_ATTR_FAMILY_NAME, WG.genlName)
        let reply = try socket.requestChecked(w.bytes, sequence: sequence) { code in
            code == ENOENT ? .notSupported("kernel WireGuard: no generic netlink family \"wireguard\" (module not loaded?)")
                : .system("resolving generic netlink family \"wireguard\"", errno: code)
        }
        for message in reply.messages where message.payload.count >= 4 {
            for attribute in NetlinkAttribute.parse(message.payload.dropFirst(4)) ?? []
            where attribute.type == WG.CTRL_ATTR_FAMILY_ID {
                if let id = attribute.u16 { return id }
            }
        }
        throw .system("resolving generic netlink family \"wireguard\": no family id in reply", errno: EPROTO)
    }
}
