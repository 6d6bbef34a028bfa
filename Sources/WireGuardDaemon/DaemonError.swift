import Glibc

public enum DaemonError: Error, CustomStringConvertible {
    case system(String, Int32)
    case usage(String)
    /// The privilege drop failed or did not fully take effect.
    case privileges(String)
    /// The TUN's link is gone (`ip link del`, `wg-quick down`): the daemon's normal end, as wireguard-go's.
    case interfaceDeleted

    public var description: String {
        switch self {
        case .system(let what, let code): "\(what): \(String(cString: strerror(code)))"
        case .usage(let text), .privileges(let text): text
        case .interfaceDeleted: "interface deleted"
        }
    }
}
