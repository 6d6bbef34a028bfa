@testable import SignalServer
import Foundation
import Keys
import ServiceURLs
import Signaling
import Testing

/// wg-ice-signal's ICE servers: coturn's TURN REST API credentials minted for the session's key, the frame
/// that carries them, what a client takes from it, and when they are sent again.
@Suite struct ICEServerOfferTests {
    static let key = Key(bytes: Array(0..<32) as [UInt8])!  // AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=

    static func offer(_ urls: [String], ttl: Duration = .seconds(43200)) throws -> ICEServerOffer {
        ICEServerOffer(servers: urls.map { try! ICEServerURL.parse($0).get() },
                       secret: try TURNSecret(bytes: Array("north-secret".utf8)), ttl: ttl)
    }

    /// The password is coturn's: base64(HMAC-SHA1(static-auth-secret, username)). The expected value comes from
    ///   echo -n "1700000000:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=" \
    ///     | openssl dgst -sha1 -hmac north-secret -binary | base64
    /// (Python's hmac.new(b"north-secret", username, hashlib.sha1) gives the same).
    @Test func mintsCoturnRESTCredentialsBoundToTheKey() throws {
        let frame = try Self.offer(["stun:192.0.2.1", "turn:192.0.2.1?transport=udp"])
            .frame(for: Self.key, now: Date(timeIntervalSince1970: 1_699_956_800.9))
        #expect(frame.iceServers.username == "1700000000:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
        #expect(frame.iceServers.password == "sLmgKtQQAOuYK8befD72Dr9QCXY=")
        #expect(frame.iceServers.expiresUnix == 1_700_000_000)
        #expect(frame.iceServers.urls == ["stun:192.0.2.1:3478", "turn:192.0.2.1:3478?transport=udp"])
        // Another key gets another username and so another password: credentials name the key they were made for.
        let other = try Self.offer(["turn:192.0.2.1"]).frame(for: Key(bytes: [UInt8](repeating: 7, count: 32))!,
                                                              now: Date(timeIntervalSince1970: 1_699_956_800))
        #expect(other.iceServers.password != frame.iceServers.password)
        #expect(!"\(try Self.offer([]).secret!)".contains("north"))
    }

    /// Sent again at three quarters of the lifetime, so a client always holds credentials with a quarter left.
    @Test func refreshesAtThreeQuartersOfTheLifetime() throws {
        #expect(try Self.offer(["turn:h"], ttl: .seconds(43200)).refreshInterval == .seconds(32400))
        #expect(try Self.offer(["turn:h"], ttl: .seconds(20)).refreshInterval == .seconds(15))
    }

    @Test func validatesOptions() throws {
        #expect(throws: ConfigError.self) { try Self.offer(["turn:h"], ttl: .seconds(5)).validate() }
        #expect(throws: ConfigError.self) { try Self.offer(["stun:h"]).validate() }  // a secret for no TURN server
        #expect(throws: ConfigError.self) { try ICEServerOffer(servers: [try ICEServerURL.parse("turn:h").get()], secret: nil).validate() }
        #expect(throws: ConfigError.self) { try Self.offer(Array(repeating: "turn:h", count: 9)).validate() }
        try Self.offer(["stun:h", "turn:h"], ttl: .seconds(20)).validate()
        try ICEServerOffer(servers: [try ICEServerURL.parse("stun:h").get()], secret: nil).validate()
    }

    /// A secret anyone on the host can read is a relay for anyone: refused. The first line is the secret.
    @Test func secretFileMustNotBeWorldReadable() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("turn-secret-\(UUID())").path
        defer { unlink(path) }
        try Data("north-secret\n".utf8).write(to: URL(fileURLWithPath: path))
        chmod(path, 0o644)
        #expect { try TURNSecret.load(path: path) } throws: { "\($0)".contains("every user") }
        chmod(path, 0o640)
        let secret = try TURNSecret.load(path: path)
        let offer = ICEServerOffer(servers: [try ICEServerURL.parse("turn:h").get()], secret: secret)
        #expect(offer.frame(for: Self.key, now: Date(timeIntervalSince1970: 1_699_956_800)).iceServers.password == "sLmgKtQQAOuYK8befD72Dr9QCXY=")
        try Data().write(to: URL(fileURLWithPath: path))
        #expect(throws: ConfigError.self) { try TURNSecret.load(path: path) }
    }

    /// The frame through its wire encoding, and what a client keeps of it (bounded, unusable URLs left out).
    @Test func clientDecodesTheFrame() throws {
        let sent = try Self.offer(["stun:192.0.2.1", "turn:192.0.2.1?transport=tcp"])
            .frame(for: Self.key, now: Date(timeIntervalSince1970: 1_699_956_800))
        let received = try ServerFrame(serializedBytes: try sent.serializedBytes() as [UInt8])
        guard case .iceServers(let offer)? = received.frame else { Issue.record("not an ice_servers frame"); return }
        let grant = try #require(ICEServerGrant(offer, source: "ws://s:1"))
        #expect(grant.servers.map(\.description) == ["stun:192.0.2.1:3478", "turn:192.0.2.1:3478?transport=tcp"])
        #expect(grant.username == "1700000000:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
        #expect(grant.password == "sLmgKtQQAOuYK8befD72Dr9QCXY=")
        #expect(grant.expires == Date(timeIntervalSince1970: 1_700_000_000))
        #expect(!grant.description.contains(grant.password!))

        var odd = offer
        odd.urls = ["future:x"] + Array(repeating: "stun:h", count: 20)
        odd.password = String(repeating: "p", count: 513)
        let bounded = try #require(ICEServerGrant(odd, source: "ws://s:1"))
        #expect(bounded.servers.count == ICEServerGrant.maxServers - 1)
        #expect(bounded.username == nil && bounded.password == nil && bounded.expires == nil)
        odd.urls = ["future:x"]
        #expect(ICEServerGrant(odd, source: "ws://s:1") == nil)
    }
}
