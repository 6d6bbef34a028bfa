import PrivilegeDrop

/// The account a session runs as after setup (`User =`).
public typealias Account = PrivilegeDrop.Account

extension Account {
    /// A login name or a numeric uid (`Account.lookUp`); a name without an account is a configuration error.
    public init(_ user: String) throws {
        guard let account = Account.lookUp(user) else {
            throw SessionError.configuration("User \(user): no such account")
        }
        self = account
    }
}

/// The session keeps CAP_NET_ADMIN only (it changes WireGuard endpoints over netlink, runs nft, and raises
/// socket buffers), also inheritable and ambient so that the `nft` it executes keeps it.
public enum Privileges {
    public static func drop(to account: Account) throws {
        do throws(PrivilegeDropError) {
            try dropPrivileges(to: account, keeping: .netAdmin, inheritable: true)
        } catch {
            throw SessionError.interface(error.description)
        }
    }
}
