import CPrivileges
import Glibc

/// After the TUN device and the sockets are open, the daemon runs as an unprivileged account with two
/// capabilities, the only privileged things a running WireGuard still does:
/// - CAP_NET_BIND_SERVICE: `listen_port` below 1024 set over UAPI re-binds the UDP sockets;
/// - CAP_NET_ADMIN: `fwmark` sets SO_MARK on them (again after each re-bind).
/// Reading and writing the TUN, serving the already-bound UAPI socket and noticing the interface's deletion
/// need nothing. The drop is permanent: no ids left at 0, a bounding set of those two, no_new_privs, nothing
/// inheritable or ambient (the daemon executes nothing).
public enum PrivilegeDrop {
    public static let userVariable = "WG_ICE_WIREGUARD_USER"
    static let defaultUser = "wg-ice"
    static let fallbackUser = "nobody"
    static let kept: UInt64 = 1 << 10 | 1 << 12  // CAP_NET_BIND_SERVICE, CAP_NET_ADMIN

    /// Who the daemon becomes: WG_ICE_WIREGUARD_USER (a name or uid; `root` keeps every privilege), else the
    /// dedicated wg-ice account, else nobody. The note says why it is not the one intended.
    public struct Account {
        public var name: String
        var uid: uid_t
        var gid: gid_t
        public var note: String?

        public var isRoot: Bool { uid == 0 }

        public static func fromEnvironment() throws(DaemonError) -> Account {
            if let value = getenv(userVariable).map({ String(cString: $0) }), !value.isEmpty {
                guard let account = lookUp(value) else { throw .usage("\(userVariable)=\(value): no such account") }
                return account
            }
            if let account = lookUp(defaultUser) { return account }
            guard var account = lookUp(fallbackUser) else {
                throw .usage("neither \(defaultUser) nor \(fallbackUser) exists: set \(userVariable)")
            }
            account.note = "no account \(defaultUser) (make install and the wg-ice package create it): running as \(fallbackUser)"
            return account
        }

        /// A login name, or a numeric uid (its passwd entry's group if it has one, else the group of that number).
        private static func lookUp(_ user: String) -> Account? {
            var entry = passwd(), result: UnsafeMutablePointer<passwd>?
            var buffer = [CChar](repeating: 0, count: 4096)
            if let number = uid_t(user) {
                getpwuid_r(number, &entry, &buffer, buffer.count, &result)
                return Account(name: result.map { String(cString: $0.pointee.pw_name) } ?? user, uid: number,
                               gid: result?.pointee.pw_gid ?? gid_t(number))
            }
            getpwnam_r(user, &entry, &buffer, buffer.count, &result)
            return result.map { Account(name: user, uid: $0.pointee.pw_uid, gid: $0.pointee.pw_gid) }
        }
    }

    /// Capability sets and PR_SET_KEEPCAPS are per thread while glibc applies setuid to every thread, so this
    /// refuses unless the process has one thread: threads started later inherit the dropped state.
    public static func drop(to account: Account) throws(DaemonError) {
        let threads = countThreads()
        guard threads == 1 else { throw .privileges("cannot drop privileges: the process has \(threads) threads, not 1") }
        let lastCap = readLastCap()
        // Bounding set first: dropping from it needs CAP_SETPCAP, which goes with root.
        for cap in 0...lastCap where kept & (1 << UInt64(cap)) == 0 {
            try check(wgice_prctl(PR_CAPBSET_DROP, UInt(cap), 0), "PR_CAPBSET_DROP \(cap)")
        }
        try check(wgice_prctl(PR_SET_KEEPCAPS, 1, 0), "PR_SET_KEEPCAPS")
        try check(setgroups(1, [account.gid]), "setgroups")
        // As root, setgid/setuid set the real, effective and saved ids alike.
        try check(setgid(account.gid), "setgid \(account.gid)")
        try check(setuid(account.uid), "setuid \(account.uid)")
        try check(wgice_prctl(PR_SET_KEEPCAPS, 0, 0), "PR_SET_KEEPCAPS")
        try check(wgice_capset(kept, kept, 0), "capset")
        try check(wgice_prctl(PR_SET_NO_NEW_PRIVS, 1, 0), "PR_SET_NO_NEW_PRIVS")
        // Fails closed: exactly what was asked, and root out of reach (setuid(0) fails only when no id is 0).
        var permitted: UInt64 = 0, effective: UInt64 = 0, inheritable: UInt64 = 0
        try check(wgice_capget(&permitted, &effective, &inheritable), "capget")
        guard getuid() == account.uid, geteuid() == account.uid, getgid() == account.gid, getegid() == account.gid,
              permitted == kept, effective == kept, inheritable == 0,
              wgice_prctl(PR_GET_NO_NEW_PRIVS, 0, 0) == 1, setuid(0) != 0, setgid(0) != 0 else {
            throw .privileges("privilege drop to \(account.name) did not take effect")
        }
    }

    private static func countThreads() -> Int {
        guard let dir = opendir("/proc/self/task") else { return 0 }
        defer { closedir(dir) }
        var count = 0
        while let entry = readdir(dir) {
            if entry.pointee.d_name.0 != CChar(UInt8(ascii: ".")) { count += 1 }
        }
        return count
    }

    private static func readLastCap() -> Int {
        let fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return 40 }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: 8)
        let n = read(fd, &bytes, bytes.count)
        return n > 0 ? Int(String(decoding: bytes[..<n].filter { $0 != 10 }, as: UTF8.self)) ?? 40 : 40
    }

    private static func check(_ rc: Int32, _ what: String) throws(DaemonError) {
        guard rc == 0 else { throw .privileges("cannot drop privileges: \(what): \(String(cString: strerror(errno)))") }
    }
}
