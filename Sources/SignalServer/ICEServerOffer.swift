import Crypto
import Foundation
import Keys
import ServiceURLs
import Signaling

/// coturn's `static-auth-secret` (`use-auth-secret`, the TURN REST API): read once from a file only its owner
/// may read, kept in one buffer that is zeroed when the server lets go of it. Never printed.
public final class TURNSecret: Sendable, CustomStringConvertible {
    private let key: SymmetricKey
    /// The secret file's bytes are not kept: `SymmetricKey` copies them into memory it zeroes on release.
    public init(bytes: [UInt8]) throws {
        guard !bytes.isEmpty, bytes.count <= ICEServerOffer.maxSecretLength else {
            throw ConfigError("the TURN secret must be 1 to \(ICEServerOffer.maxSecretLength) bytes")
        }
        key = SymmetricKey(data: bytes)
    }

    /// Reads `path`: its first line, as coturn reads `static-auth-secret=` (no trailing newline). A file that
    /// others can read is refused: anyone who reads it can mint relay credentials for any name.
    public static func load(path: String) throws -> TURNSecret {
        var info = stat()
        guard stat(path, &info) == 0 else { throw ConfigError("--turn-secret-file \(path): \(String(cString: strerror(errno)))") }
        guard info.st_mode & S_IFMT == S_IFREG else { throw ConfigError("--turn-secret-file \(path): not a regular file") }
        guard info.st_mode & (S_IROTH | S_IWOTH) == 0 else {
            throw ConfigError("--turn-secret-file \(path): readable or writable by every user (chmod o-rw \(path))")
        }
        guard info.st_size <= off_t(ICEServerOffer.maxSecretLength + 2), let handle = FileHandle(forReadingAtPath: path) else {
            throw ConfigError("--turn-secret-file \(path): not readable, or longer than \(ICEServerOffer.maxSecretLength) bytes")
        }
        defer { try? handle.close() }
        var data = (try? handle.readToEnd()) ?? Data()
        defer { data.resetBytes(in: 0..<data.count) }
        var bytes = [UInt8](data.prefix { $0 != UInt8(ascii: "\n") && $0 != UInt8(ascii: "\r") })
        defer { for i in bytes.indices { bytes[i] = 0 } }
        do { return try TURNSecret(bytes: bytes) } catch let error as ConfigError {
            throw ConfigError("--turn-secret-file \(path): \(error.description)")
        }
    }

    /// base64(HMAC-SHA1(secret, username)): the password coturn expects for `username`.
    func password(for username: String) -> String {
        Data(HMAC<Insecure.SHA1>.authenticationCode(for: Data(username.utf8), using: key)).base64EncodedString()
    }

    public var description: String { "<TURN secret>" }
}

/// The STUN/TURN servers `wg-ice-signal` hands to authenticated sessions (`--ice-server`), with TURN credentials
/// minted from `--turn-secret-file` for the session's own key and valid for `ttl`.
public struct ICEServerOffer: Sendable {
    public var servers: [ICEServerURL]
    public var secret: TURNSecret?
    public var ttl: Duration

    /// coturn's default lifetime for REST API credentials is the operator's choice; NetBird hands out 12 h.
    public static let defaultTTL = Duration.seconds(12 * 3600)
    /// Shorter lifetimes make every client re-gather its relays more often than a relay allocation lasts.
    public static let minimumTTL = Duration.seconds(10)
    public static let maximumTTL = Duration.seconds(7 * 24 * 3600)
    /// Bounds on what the frame carries, so it always fits the smallest frame limit (1024 bytes).
    public static let maxServers = 8
    static let maxSecretLength = 256

    public init(servers: [ICEServerURL], secret: TURNSecret?, ttl: Duration = defaultTTL) {
        self.servers = servers
        self.secret = secret
        self.ttl = ttl
    }

    public func validate() throws {
        guard servers.count <= Self.maxServers else { throw ConfigError("at most \(Self.maxServers) --ice-server") }
        guard ttl >= Self.minimumTTL, ttl <= Self.maximumTTL else {
            throw ConfigError("--turn-ttl must be \(Self.minimumTTL.components.seconds) to \(Self.maximumTTL.components.seconds) seconds")
        }
        if secret != nil, !servers.contains(where: \.isTURN) {
            throw ConfigError("--turn-secret-file needs a turn: or turns: --ice-server")
        }
        if secret == nil, servers.contains(where: \.isTURN) {
            throw ConfigError("turn: and turns: --ice-server need --turn-secret-file (the server hands out no static credentials)")
        }
    }

    /// The frame for the session authenticated as `key` at `now`: coturn's REST API username
    /// `<expiry>:<base64 key>` names the key in coturn's logs and binds the credentials to it.
    func frame(for key: Key, now: Date) -> ServerFrame {
        var frame = ServerFrame()
        frame.iceServers.urls = servers.map(\.description)
        if let secret {
            let expiry = Int64(now.timeIntervalSince1970.rounded(.down)) + ttl.components.seconds
            let username = "\(expiry):\(key.base64)"
            frame.iceServers.username = username
            frame.iceServers.password = secret.password(for: username)
            frame.iceServers.expiresUnix = expiry
        }
        return frame
    }

    /// When a session is sent fresh credentials again: at three quarters of their lifetime, so a client always
    /// holds credentials with a quarter of the lifetime left and gathers its next relays with them.
    var refreshInterval: Duration { ttl * 3 / 4 }
}
