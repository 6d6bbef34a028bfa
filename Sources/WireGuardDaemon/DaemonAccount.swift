import Glibc
import PrivilegeDrop

/// Who the daemon becomes after the TUN device and the sockets are open: WG_ICE_WIREGUARD_USER (a name or
/// uid; `root` keeps every privilege), else the dedicated wg-ice account, else nobody. It keeps two
/// capabilities, the only privileged things a running WireGuard still does:
/// - CAP_NET_BIND_SERVICE: `listen_port` below 1024 set over UAPI re-binds the UDP sockets;
/// - CAP_NET_ADMIN: `fwmark` sets SO_MARK on them (again after each re-bind).
/// Reading and writing the TUN, serving the already-bound UAPI socket and noticing the interface's deletion
/// need nothing. Nothing is inheritable or ambient: the daemon executes nothing.
public struct DaemonAccount {
    public static let userVariable = "WG_ICE_WIREGUARD_USER"
    static let defaultUser = "wg-ice"
    static let fallbackUser = "nobody"

    let account: Account
    /// Why the daemon runs as the fallback account; nil when it runs as the one intended.
    public var note: String?

    public var isRoot: Bool { account.isRoot }

    public static func fromEnvironment() throws(DaemonError) -> DaemonAccount {
        if let value = getenv(userVariable).map({ String(cString: $0) }), !value.isEmpty {
            guard let account = Account.lookUp(value) else {
                throw .usage("\(userVariable)=\(value): no such account")
            }
            return DaemonAccount(account: account)
        }
        if let account = Account.lookUp(defaultUser) { return DaemonAccount(account: account) }
        guard let account = Account.lookUp(fallbackUser) else {
            throw .usage("neither \(defaultUser) nor \(fallbackUser) exists: set \(userVariable)")
        }
        return DaemonAccount(account: account, note: "no account \(defaultUser) (make install and the wg-ice package create it): "
                                 + "running as \(fallbackUser)")
    }

    /// For good; only while the process has one thread (`dropPrivileges` refuses otherwise).
    public func drop() throws(DaemonError) {
        do throws(PrivilegeDropError) {
            try dropPrivileges(to: account, keeping: [.netBindService, .netAdmin], inheritable: false)
        } catch {
            throw .privileges(error.description)
        }
    }
}
