import Testing
@testable import WireGuardDaemon

/// The handshake and transport messages between two in-process peers; wire compatibility is
/// tests/wireguard-interop.sh's job (against wireguard-go).
@Suite struct MessageTests {
    let alice = LocalIdentity(privateKey: X25519.generatePrivate())
    let bob = LocalIdentity(privateKey: X25519.generatePrivate())
    let psk = Secret(X25519.random(32))

    func handshake() throws -> (initiator: Noise.SessionKeys, responder: Noise.SessionKeys) {
        let bobAtAlice = RemoteIdentity(publicKey: bob.publicKey, local: alice)
        let aliceAtBob = RemoteIdentity(publicKey: alice.publicKey, local: bob)
        let (initiation, state) = try #require(Noise.createInitiation(local: alice, remote: bobAtAlice, localIndex: 7,
                                                                       timestamp: TAI64N.now()))
        #expect(initiation.count == 148 && initiation[0] == 1 && initiation[1..<4] == [0, 0, 0])
        let consumed = try #require(initiation.withUnsafeBytes {
            Noise.consumeInitiation($0, local: bob) { $0 == alice.publicKey ? aliceAtBob.staticShared : nil }
        })
        #expect(consumed.remoteStatic == alice.publicKey && consumed.remoteIndex == 7)
        // An unknown initiator is refused.
        #expect(initiation.withUnsafeBytes { Noise.consumeInitiation($0, local: bob) { _ in nil } } == nil)
        let (response, responderKeys) = try #require(Noise.createResponse(to: consumed, presharedKey: psk, localIndex: 9))
        #expect(response.count == 92 && response[0] == 2)
        let (remoteIndex, initiatorKeys) = try #require(response.withUnsafeBytes {
            Noise.consumeResponse($0, state: state, local: alice, presharedKey: psk)
        })
        #expect(remoteIndex == 9)
        // A different preshared key cannot complete it.
        #expect(response.withUnsafeBytes { Noise.consumeResponse($0, state: state, local: alice, presharedKey: Secret(X25519.random(32))) } == nil)
        return (initiatorKeys, responderKeys)
    }

    @Test func handshakeDerivesMirroredKeys() throws {
        let (i, r) = try handshake()
        #expect(i.send == r.receive && i.receive == r.send && i.send != i.receive)
    }

    @Test func tamperedInitiationIsRefused() throws {
        let bobAtAlice = RemoteIdentity(publicKey: bob.publicKey, local: alice)
        var (initiation, _) = try #require(Noise.createInitiation(local: alice, remote: bobAtAlice, localIndex: 1,
                                                                   timestamp: TAI64N.now()))
        initiation[100] ^= 1
        let shared = RemoteIdentity(publicKey: alice.publicKey, local: bob).staticShared
        #expect(initiation.withUnsafeBytes { Noise.consumeInitiation($0, local: bob) { _ in shared } } == nil)
    }

    @Test func transportRoundTripPadsAndRefusesReplays() throws {
        let (i, r) = try handshake()
        var sender = Keypair(keys: i, localIndex: 7, remoteIndex: 9, isInitiator: true, now: Clock.now())
        var receiver = Keypair(keys: r, localIndex: 9, remoteIndex: 7, isInitiator: false, now: Clock.now())
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 2048, alignment: 16)
        defer { buffer.deallocate() }
        for (i, b) in Array("hello".utf8).enumerated() { buffer[16 + i] = b }
        let count = sender.seal(buffer, length: 5, mtu: 1420)
        #expect(count == 16 + 16 + 16) // header, 5 bytes padded to 16, tag
        #expect(UnsafeRawBufferPointer(buffer).le32(at: 4) == 9 && UnsafeRawBufferPointer(buffer).le64(at: 8) == 0)
        let saved = Array(buffer[..<count])
        let opened = receiver.open(buffer, count: count)
        #expect(opened == 16)
        #expect(Array(buffer[16..<21]) == Array("hello".utf8) && buffer[21..<32].allSatisfy { $0 == 0 })
        buffer.copyBytes(from: saved)
        let replayed = receiver.open(buffer, count: count) // the same counter again
        #expect(replayed == nil)
        let keepalive = sender.seal(buffer, length: 0, mtu: 1420)
        let keepaliveOpened = receiver.open(buffer, count: 32)
        #expect(keepalive == 32 && keepaliveOpened == 0)
        // Padding never exceeds the MTU.
        let full = sender.seal(buffer, length: 1419, mtu: 1420)
        #expect(full == 16 + 1420 + 16)
    }

    @Test func macsAndCookies() throws {
        let bobAtAlice = RemoteIdentity(publicKey: bob.publicKey, local: alice)
        var jar = CookieJar()
        var checker = CookieChecker()
        var (m, _) = try #require(Noise.createInitiation(local: alice, remote: bobAtAlice, localIndex: 3, timestamp: TAI64N.now()))
        jar.stamp(&m, remote: bobAtAlice, now: 1)
        let source = Endpoint("192.0.2.1:4000")!.cookieSource
        #expect(m.withUnsafeBytes { CookieChecker.validMAC1($0, local: bob) })
        #expect(!m.withUnsafeBytes { CookieChecker.validMAC1($0, local: alice) })
        #expect(m[132...].allSatisfy { $0 == 0 })
        let mac2WithoutCookie = m.withUnsafeBytes { checker.validMAC2($0, source: source, now: 1) }
        #expect(!mac2WithoutCookie)
        // Under load Bob answers with a cookie; Alice's next message carries a mac2 Bob accepts, from that source only.
        let reply = m.withUnsafeBytes { checker.reply(to: $0, receiver: 3, source: source, local: bob, now: 1) }
        #expect(reply.count == 64 && reply[0] == 3)
        let consumed = reply.withUnsafeBytes { jar.consume($0, remote: bobAtAlice, now: 2) }
        #expect(consumed)
        jar.stamp(&m, remote: bobAtAlice, now: 3)
        #expect(m.withUnsafeBytes { CookieChecker.validMAC1($0, local: bob) })
        let mac2 = m.withUnsafeBytes { checker.validMAC2($0, source: source, now: 4) }
        let mac2Elsewhere = m.withUnsafeBytes { checker.validMAC2($0, source: Endpoint("192.0.2.2:4000")!.cookieSource, now: 4) }
        #expect(mac2 && !mac2Elsewhere)
        // A cookie is good for two minutes.
        jar.stamp(&m, remote: bobAtAlice, now: 3 + Protocol.cookieRefreshTime)
        #expect(m[132...].allSatisfy { $0 == 0 })
    }

    /// Packets of one batch share a `now` read before a handshake in the batch stamped its session: a session
    /// "created after now" is fresh, not a trap on unsigned underflow (which ended the daemon in the interop test).
    @Test func sessionStampedAfterNowIsFresh() {
        let k = Keypair(keys: .init(send: Secret(), receive: Secret()), localIndex: 1, remoteIndex: 2, isInitiator: true, now: 1_000)
        #expect(k.canSend(now: 999) && k.canReceive(now: 999))
        #expect(!k.needsRekeyAfterSending(now: 999) && !k.needsRekeyAfterReceiving(now: 999))
    }

    @Test func tai64n() {
        let a = TAI64N.make(seconds: 1_700_000_000, nanoseconds: 0)
        let b = TAI64N.make(seconds: 1_700_000_000, nanoseconds: 500_000_000)
        #expect(a.count == 12 && hex(Array(a[..<8])) == hex(1_700_000_000 + 0x4000_0000_0000_000a as UInt64))
        #expect(TAI64N.isAfter(b, a) && !TAI64N.isAfter(a, b) && !TAI64N.isAfter(a, a))
        // Nanoseconds are whitened to 2^24 ns steps, so two instants 1 ms apart may compare equal.
        #expect(TAI64N.make(seconds: 1, nanoseconds: 1_000_000) == TAI64N.make(seconds: 1, nanoseconds: 0))
    }
}

private func hex(_ value: UInt64) -> String { hex((0..<8).map { UInt8(truncatingIfNeeded: value >> (56 - 8 * $0)) }) }
