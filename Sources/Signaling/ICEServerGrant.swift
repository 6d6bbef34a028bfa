import Foundation
import ServiceURLs

/// STUN/TURN servers a signaling server handed this client (ServerFrame `ice_servers`, docs/PROTOCOL.md §4.2),
/// with the TURN credentials it minted for the client's key. The password is never shown in a description.
public struct ICEServerGrant: Sendable, Equatable, CustomStringConvertible {
    public var servers: [ICEServerURL]
    public var username: String?
    public var password: String?
    /// When the relay stops accepting `username`; nil for credentials without expiry (or none).
    public var expires: Date?
    /// The signaling URL it came from, for `status` and `check`.
    public var source: String

    public init(servers: [ICEServerURL], username: String?, password: String?, expires: Date?, source: String) {
        self.servers = servers
        self.username = username
        self.password = password
        self.expires = expires
        self.source = source
    }

    /// Bounds on what a client takes from a server, whatever the server sends.
    public static let maxServers = 8
    public static let maxCredentialLength = 512

    /// The grant a frame carries; nil when it names no server this client can use. URLs that do not parse as
    /// wg-ice.conf(5) URLs takes them are left out (a later server may offer kinds this client does not know).
    public init?(_ frame: Wgice_Signal_V1_IceServers, source: String) {
        let servers = frame.urls.prefix(Self.maxServers).compactMap { try? ICEServerURL.parse($0).get() }
        guard !servers.isEmpty else { return nil }
        let hasCredentials = !frame.username.isEmpty && !frame.password.isEmpty
            && frame.username.utf8.count <= Self.maxCredentialLength && frame.password.utf8.count <= Self.maxCredentialLength
        self.init(servers: servers, username: hasCredentials ? frame.username : nil, password: hasCredentials ? frame.password : nil,
                  expires: hasCredentials && frame.expiresUnix > 0 ? Date(timeIntervalSince1970: TimeInterval(frame.expiresUnix)) : nil,
                  source: source)
    }

    public var description: String {
        var text = servers.map(\.description).joined(separator: ", ") + " from \(source)"
        if let username { text += " (TURN user \(username)" + (expires.map { ", expires \($0)" } ?? "") + ")" }
        return text
    }
}
