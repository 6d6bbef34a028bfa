import CPrivileges
import Glibc

/// Capabilities as capset(2) takes them: bit n is capability n.
public struct Capabilities: OptionSet, Sendable {
    public let rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    public static let netBindService = Capabilities(rawValue: 1 << 10)
    public static let netAdmin = Capabilities(rawValue: 1 << 12)

    func includes(_ number: Int) -> Bool { rawValue & 1 << UInt64(number) != 0 }
}

/// The drop failed or did not fully take effect; the message is the one users see.
public struct PrivilegeDropError: Error, CustomStringConvertible {
    public var description: String
}

/// Drops the process from root to `account` for good, keeping only `kept` in its permitted, effective and
/// bounding sets; when `inheritable`, in its inheritable and ambient sets too, so that what it executes keeps
/// them (the session's `nft`). Then no_new_privs, and a check that fails closed: exactly that state, and
/// root out of reach.
///
/// Capability sets and PR_SET_KEEPCAPS are per thread while glibc applies setuid to every thread: done with
/// several threads, the others would lose every capability. So this refuses unless the process has one
/// thread; threads created afterwards inherit the dropped state.
public func dropPrivileges(to account: Account, keeping kept: Capabilities,
                           inheritable: Bool) throws(PrivilegeDropError) {
    let threads = countThreads()
    guard threads == 1 else {
        throw PrivilegeDropError(description: "cannot drop privileges: the process has \(threads) threads, not 1")
    }
    let capabilities = 0...lastCapability()
    // Bounding set first: dropping from it needs CAP_SETPCAP, which goes with root.
    for cap in capabilities where !kept.includes(cap) {
        try check(wgice_prctl(PR_CAPBSET_DROP, UInt(cap), 0), "PR_CAPBSET_DROP \(cap)")
    }
    try check(wgice_prctl(PR_SET_KEEPCAPS, 1, 0), "PR_SET_KEEPCAPS")
    try check(setgroups(1, [account.gid]), "setgroups")
    // As root, setgid/setuid set the real, effective and saved ids alike.
    try check(setgid(account.gid), "setgid \(account.gid)")
    try check(setuid(account.uid), "setuid \(account.uid)")
    try check(wgice_prctl(PR_SET_KEEPCAPS, 0, 0), "PR_SET_KEEPCAPS")
    let inherited: Capabilities = inheritable ? kept : []
    try check(wgice_capset(kept.rawValue, kept.rawValue, inherited.rawValue), "capset")
    for cap in capabilities where inherited.includes(cap) {
        try check(wgice_prctl(PR_CAP_AMBIENT, UInt(PR_CAP_AMBIENT_RAISE), UInt(cap)), "PR_CAP_AMBIENT_RAISE")
    }
    try check(wgice_prctl(PR_SET_NO_NEW_PRIVS, 1, 0), "PR_SET_NO_NEW_PRIVS")

    var permitted: UInt64 = 0, effective: UInt64 = 0, inheritableSet: UInt64 = 0
    try check(wgice_capget(&permitted, &effective, &inheritableSet), "capget")
    // setuid(0) fails only if no id (real, effective or saved) is root any more.
    guard getuid() == account.uid, geteuid() == account.uid, getgid() == account.gid, getegid() == account.gid,
          permitted == kept.rawValue, effective == kept.rawValue, inheritableSet == inherited.rawValue,
          capabilities.allSatisfy({
              wgice_prctl(PR_CAP_AMBIENT, UInt(PR_CAP_AMBIENT_IS_SET), UInt($0)) == (inherited.includes($0) ? 1 : 0)
          }),
          wgice_prctl(PR_GET_NO_NEW_PRIVS, 0, 0) == 1, setuid(0) != 0, setgid(0) != 0 else {
        throw PrivilegeDropError(description: "privilege drop to \(account.name) did not take effect")
    }
}

private func check(_ rc: Int32, _ what: String) throws(PrivilegeDropError) {
    guard rc == 0 else {
        throw PrivilegeDropError(description: "cannot drop privileges: \(what): \(String(cString: strerror(errno)))")
    }
}

private func countThreads() -> Int {
    guard let dir = opendir("/proc/self/task") else { return 0 }
    defer { closedir(dir) }
    var count = 0
    while let entry = readdir(dir) {
        if entry.pointee.d_name.0 != CChar(UInt8(ascii: ".")) { count += 1 }
    }
    return count
}

private func lastCapability() -> Int {
    let fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return 40 }
    defer { close(fd) }
    var bytes = [UInt8](repeating: 0, count: 8)
    let n = read(fd, &bytes, bytes.count)
    return n > 0 ? Int(String(decoding: bytes[..<n].filter { $0 != 10 }, as: UTF8.self)) ?? 40 : 40
}
