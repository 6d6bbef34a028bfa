import Keys
import Foundation
import Signaling
import Testing
import TestSupport

/// The worked example in docs/PROTOCOL.md: fixed keys, nonces, challenge and clock, so every byte is
/// reproducible by an independent implementation. This test regenerates it and requires the document to
/// contain exactly that text (on mismatch it prints the block to paste).
@Suite struct VectorTests {
    static func clampedKey(_ start: UInt8) throws -> PrivateKey {
        var bytes = (0..<32).map { start &+ UInt8($0) }
        bytes[0] &= 248
        bytes[31] = (bytes[31] & 127) | 64
        return try #require(PrivateKey(bytes: bytes))
    }

    static func vectors() throws -> String {
        let alice = try clampedKey(0x01), bob = try clampedKey(0x21), ephemeral = try clampedKey(0x41)
        var creds = IceCredentials()
        creds.ufrag = "Xy7q"
        creds.pwd = "9Uq2mZp4Lr8sTn0vWb6yHd3k"
        creds.generation = 1
        var sealer = Sealer(key: alice, sessionID: 0x0102_0304_0506_0708)
        let nonce = (0..<24).map { UInt8($0) }
        let now = Date(timeIntervalSince1970: 1_700_000_000.123)
        let envelope = sealer.seal(.credentials(creds), to: bob.publicKey, now: now, nonce: nonce)
        var opener = Opener(key: bob)
        let opened = try opener.open(envelope, now: now).get()
        let payloadBytes: [UInt8] = try opened.payload.serializedBytes()
        var publish = ClientFrame()
        publish.publish.id = 1
        publish.publish.envelope = envelope

        let challengeBytes = (0..<32).map { 0xA0 &+ UInt8($0) }
        var challenge = Wgice_Signal_V1_Challenge()
        challenge.serverEphemeralKey = Data(ephemeral.publicKey.bytes)
        challenge.challenge = Data(challengeBytes)
        var challengeFrame = ServerFrame()
        challengeFrame.challenge = challenge
        let authNonce = (0..<24).map { 0x30 &+ UInt8($0) }
        let auth = try AuthProof.respond(to: challenge, key: alice, transport: "ws", authority: "signal.example:443", nonce: authNonce)
        let transcript = AuthProof.transcript(serverEphemeral: ephemeral.publicKey, challenge: challengeBytes, client: alice.publicKey,
                                              transport: "ws", authority: "signal.example:443")!
        #expect(AuthProof.verify(auth.auth, ephemeral: ephemeral, challenge: challengeBytes, transport: "ws", authorityAllowed: { _ in true })
                == alice.publicKey)

        func hex<B: Sequence<UInt8>>(_ b: B) -> String { b.map { String(format: "%02x", $0) }.joined() }
        func secret(_ k: PrivateKey) -> [UInt8] { k.secret.bytes }
        return """
        alice private key (base64) \(privateBase64(alice))
        alice private key (hex)    \(hex(secret(alice)))
        alice public key (base64)  \(alice.publicKey.base64)
        alice public key (hex)     \(hex(alice.publicKey.bytes))
        bob private key (base64)   \(privateBase64(bob))
        bob public key (base64)    \(bob.publicKey.base64)
        bob public key (hex)       \(hex(bob.publicKey.bytes))

        Payload (alice -> bob, IceCredentials ufrag "Xy7q" pwd "9Uq2mZp4Lr8sTn0vWb6yHd3k" generation 1,
                 timestamp_ms 1700000000123, session_id 0x0102030405060708, sequence 1), serialized:
          \(hex(payloadBytes))
        nonce
          \(hex(nonce))
        ciphertext = crypto_box_easy(payload, nonce, bob public, alice private):
          \(hex(envelope.ciphertext))
        ClientFrame { publish { id 1, envelope } }, serialized (the WebSocket binary message):
          \(hex(publish.bytes))

        server ephemeral private key (hex) \(hex(secret(ephemeral)))
        ServerFrame { challenge }, serialized:
          \(hex(try challengeFrame.serializedBytes() as [UInt8]))
        auth transcript (transport "ws", authority "signal.example:443"):
          \(hex(transcript))
        auth nonce
          \(hex(authNonce))
        proof = crypto_box_easy(transcript, auth nonce, server ephemeral public, alice private):
          \(hex(auth.auth.proof))
        ClientFrame { auth }, serialized:
          \(hex(auth.bytes))
        """
    }

    /// The fixed vector keys are public knowledge.
    static func privateBase64(_ key: PrivateKey) -> String { key.secret.base64 }

    @Test func protocolDocumentCarriesTheCurrentVectors() throws {
        let block = try Self.vectors()
        let doc = try String(contentsOf: packageRoot.appendingPathComponent("docs/PROTOCOL.md"), encoding: .utf8)
        #expect(doc.contains("```\n\(block)\n```"), "docs/PROTOCOL.md must contain this block:\n```\n\(block)\n```")
    }

    @Test func vectorKeysMatchWireGuardTools() throws {
        let alice = try Self.clampedKey(0x01)
        let pub = try runChecked(["wg", "pubkey"], input: Self.privateBase64(alice) + "\n").stdout
        #expect(pub.trimmingCharacters(in: .whitespacesAndNewlines) == alice.publicKey.base64)
    }
}
