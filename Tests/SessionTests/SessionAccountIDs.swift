import Foundation

/// The `Uid:` and `Gid:` lines of /proc/PID/status (real, effective, saved, filesystem) of a session whose file
/// sets no `User`: the dedicated account wg-ice, or nobody where it does not exist (tests/session-account.sh
/// runs both cases).
func expectedSessionIDs() -> (uid: String, gid: String) {
    let ids = getpwnam("wg-ice").map { ($0.pointee.pw_uid, $0.pointee.pw_gid) } ?? (65534, 65534)
    let line = { (id: UInt32) in Array(repeating: "\(id)", count: 4).joined(separator: "\t") }
    return (line(ids.0), line(ids.1))
}
