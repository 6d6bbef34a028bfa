import ConfParser
import Session

/// The account a session drops to: `User =` when the file sets it (which must exist), else the dedicated
/// `wg-ice` account, else `nobody` with a note for the log: a session sharing an account with other
/// services can be signalled (stopped, killed) by any of them.
struct SessionAccount {
    var account: Account
    /// Why the session runs as the fallback account; nil when it runs as the one intended.
    var fallbackNote: String?

    init(user: String?) throws {
        if let user {
            account = try Account(user)
        } else if let dedicated = try? Account(ICESettings.defaultUser) {
            account = dedicated
        } else {
            account = try Account(ICESettings.fallbackUser)
            fallbackNote = "no account \(ICESettings.defaultUser) (make install and the wg-ice package create it): "
                + "running as \(ICESettings.fallbackUser), which other services may share; set User = to choose another"
        }
    }
}
