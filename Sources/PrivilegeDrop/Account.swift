import Glibc

/// An account to drop privileges to, resolved while /etc/passwd and NSS are still readable (after the drop
/// they may not be).
public struct Account: Sendable, Equatable {
    public var name: String
    public var uid: uid_t
    public var gid: gid_t

    public var isRoot: Bool { uid == 0 }

    /// A login name, or a numeric uid (its passwd entry's group if it has one, else the group of the same
    /// number, as for systemd's dynamic users); nil for a name without a passwd entry.
    public static func lookUp(_ user: String) -> Account? {
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
