import CPrivileges
import Foundation
import Glibc

/// The account a session runs as after setup (`User =`), resolved while /etc/passwd and NSS are still
/// readable.
public struct Account: Sendable, Equatable {
    public var name: String
    public var uid: uid_t
    public var gid: gid_t

    /// A login name, or a numeric uid (its passwd entry's group if it has one, else the group of the same
    /// number, as for systemd's dynamic users).
    public init(_ user: String) throws {
        var entry = passwd(), result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 4096)
        if let number = uid_t(user) {
            getpwuid_r(number, &entry, &buffer, buffer.count, &result)
            name = result.map { String(cString: $0.pointee.pw_name) } ?? user
            uid = number
            gid = result?.pointee.pw_gid ?? gid_t(number)
        } else {
            getpwnam_r(user, &entry, &buffer, buffer.count, &result)
            guard let found = result else { throw SessionError.configuration("User \(user): no such account") }
            name = user
            uid = found.pointee.pw_uid
            gid = found.pointee.pw_gid
        }
    }

    public var isRoot: Bool { uid == 0 }
}

/// Drops the process from root to an account with CAP_NET_ADMIN only (the session changes WireGuard
/// endpoints over netlink, runs nft, and raises socket buffers), and sets no_new_privs.
///
/// Capability sets and PR_SET_KEEPCAPS are per thread, while glibc applies setresuid to every thread: done
/// with several threads, the others would lose every capability and whatever they spawn (nft) would fail.
/// So this refuses unless the process has exactly one thread, and every thread created afterwards inherits
/// the dropped state. CAP_NET_ADMIN goes into the permitted, effective, inheritable and ambient sets, so the
/// `nft` the session executes keeps it; the bounding set loses everything else.
public enum Privileges {
    public static let netAdmin: UInt64 = 1 << 12

    public static func drop(to account: Account) throws {
        let threads = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").count) ?? 0
        guard threads == 1 else {
            throw SessionError.interface("cannot drop privileges: the process has \(threads) threads, not 1")
        }
        let lastCap = (try? String(contentsOfFile: "/proc/sys/kernel/cap_last_cap", encoding: .utf8))
            .flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 40
        // Bounding set first: dropping from it needs CAP_SETPCAP, which goes with root.
        for cap in 0...lastCap where cap != 12 {
            try check(wgice_prctl(PR_CAPBSET_DROP, UInt(cap), 0), "PR_CAPBSET_DROP \(cap)")
        }
        try check(wgice_prctl(PR_SET_KEEPCAPS, 1, 0), "PR_SET_KEEPCAPS")
        try check(setgroups(1, [account.gid]), "setgroups")
        // As root, setgid/setuid set the real, effective and saved ids alike.
        try check(setgid(account.gid), "setgid \(account.gid)")
        try check(setuid(account.uid), "setuid \(account.uid)")
        try check(wgice_prctl(PR_SET_KEEPCAPS, 0, 0), "PR_SET_KEEPCAPS")
        try check(wgice_capset(netAdmin, netAdmin, netAdmin), "capset")
        try check(wgice_prctl(PR_CAP_AMBIENT, UInt(PR_CAP_AMBIENT_RAISE), 12), "PR_CAP_AMBIENT_RAISE")
        try check(wgice_prctl(PR_SET_NO_NEW_PRIVS, 1, 0), "PR_SET_NO_NEW_PRIVS")
        try verify(account)
    }

    /// Fails closed: the drop must be exactly what was asked, and root must be out of reach.
    private static func verify(_ account: Account) throws {
        var permitted: UInt64 = 0, effective: UInt64 = 0, inheritable: UInt64 = 0
        try check(wgice_capget(&permitted, &effective, &inheritable), "capget")
        // setuid(0) fails only if no id (real, effective or saved) is root any more.
        guard getuid() == account.uid, geteuid() == account.uid, getgid() == account.gid, getegid() == account.gid,
              permitted == netAdmin, effective == netAdmin, inheritable == netAdmin,
              wgice_prctl(PR_CAP_AMBIENT, UInt(PR_CAP_AMBIENT_IS_SET), 12) == 1,
              wgice_prctl(PR_GET_NO_NEW_PRIVS, 0, 0) == 1,
              setuid(0) != 0, setgid(0) != 0 else {
            throw SessionError.interface("privilege drop to \(account.name) did not take effect")
        }
    }

    private static func check(_ rc: Int32, _ what: String) throws {
        guard rc == 0 else {
            throw SessionError.interface("cannot drop privileges: \(what): \(String(cString: strerror(errno)))")
        }
    }
}
