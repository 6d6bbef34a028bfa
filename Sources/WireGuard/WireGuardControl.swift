import Glibc

/// Reads and changes one WireGuard interface. One value holds one connection (a UAPI socket or a netlink
/// socket) and can run any number of operations on it, so a process can open it and then drop privileges.
/// Operations block: call them from a thread that may block (the monitor does), not from a cooperative executor
/// in a hot loop.
public protocol WireGuardControl: AnyObject, Sendable {
    var interface: String { get }
    func device() throws(WireGuardError) -> Device
    func apply(_ change: DeviceChange) throws(WireGuardError)
    func close()
}

public enum WireGuardError: Error, Equatable, CustomStringConvertible {
    /// The interface does not exist (ENODEV, or no UAPI socket and no kernel link).
    case noSuchInterface(String)
    /// A kernel link of that name exists but is not WireGuard (and no UAPI socket has its name).
    case notWireGuard(String)
    /// The kernel has no WireGuard generic netlink family, or the interface is not a WireGuard one.
    case notSupported(String)
    /// The caller lacks CAP_NET_ADMIN or cannot open the UAPI socket.
    case permissionDenied(String)
    /// The implementation refused a change. `rejected` names the line (UAPI) or the request part (netlink)
    /// it refused when that is known.
    case rejected(interface: String, errno: Int32, rejected: String?)
    /// The implementation sent something this client cannot parse, or the connection broke mid-reply.
    case protocolError(interface: String, String)
    /// A system call failed.
    case system(String, errno: Int32)

    public var description: String {
        switch self {
        case .noSuchInterface(let name): "interface \(name) does not exist"
        case .notWireGuard(let name): "\(name) is not a WireGuard interface"
        case .notSupported(let what): what
        case .permissionDenied(let what): "\(what): permission denied (needs CAP_NET_ADMIN / root)"
        case .rejected(let name, let code, let part):
            "\(name): change rejected\(part.map { " at `\($0)`" } ?? ""): \(errnoName(code)) (\(String(cString: strerror(code))))"
        case .protocolError(let name, let what): "\(name): \(what)"
        case .system(let call, let code): "\(call): \(String(cString: strerror(code)))"
        }
    }
}

func errnoName(_ code: Int32) -> String {
    switch code {
    case EINVAL: "EINVAL"
    case EADDRINUSE: "EADDRINUSE"
    case ENODEV: "ENODEV"
    case EPERM: "EPERM"
    case EOPNOTSUPP: "EOPNOTSUPP"
    case EIO: "EIO"
    case EPROTO: "EPROTO"
    case ENOMEM: "ENOMEM"
    case ENOENT: "ENOENT"
    default: "errno \(code)"
    }
}

public enum WireGuard {
    public static let defaultSocketDirectory = "/var/run/wireguard"

    /// Opens a control connection the way wg(8) chooses: the UAPI socket if `DIR/IFACE.sock` exists,
    /// otherwise the kernel over generic netlink. Without a socket, the link is looked up first: asking generic
    /// netlink about a missing or non-WireGuard interface on a host without the kernel module would only say
    /// that the module is missing, which misleads where WireGuard runs in userspace.
    public static func open(_ interface: String, socketDirectory: String = defaultSocketDirectory)
        throws(WireGuardError) -> any WireGuardControl
    {
        let path = "\(socketDirectory)/\(interface).sock"
        if access(path, F_OK) == 0 {
            return try UAPIClient(interface: interface, socketPath: path)
        }
        guard let link = try LinkWatcher.list().first(where: { $0.name == interface }) else {
            throw .noSuchInterface(interface)
        }
        guard link.kind == RTNL.wireguardKind else { throw .notWireGuard(interface) }
        return try GenericNetlinkClient(interface: interface)
    }
}
