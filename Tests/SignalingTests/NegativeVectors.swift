import Foundation
import Keys
import Signaling

/// Envelopes derived from the worked example (docs/PROTOCOL.md §9) that a receiver must drop, with a few it
/// must accept beside them to pin each boundary. The real `Opener` decides every outcome printed here.
enum NegativeVectors {
    struct Vector {
        let id: String
        let what: String
        let receiver: String
        let clockMs: Int64
        let envelope: Envelope
        let expected: DropReason?  // nil: accepted
    }

    /// The worked example's receiver clock and timestamp.
    static let t0: Int64 = 1_700_000_000_123

    struct Cast {
        let alice: PrivateKey, bob: PrivateKey, carol: PrivateKey
        func named(_ name: String) -> PrivateKey { name == "alice" ? alice : name == "bob" ? bob : carol }
    }

    static func cast() throws -> Cast {
        Cast(alice: try VectorTests.clampedKey(0x01), bob: try VectorTests.clampedKey(0x21), carol: try VectorTests.clampedKey(0x61))
    }

    static let nonce0 = (0..<24).map { UInt8($0) }

    /// The worked example's payload; `kind` nil leaves the oneof out.
    static func payload(_ k: Cast, recipient: Key? = nil, sessionID: UInt64 = 0x0102_0304_0506_0708,
                        sequence: UInt64 = 1, timestampMs: Int64 = t0, credentials: Bool = true) -> Payload {
        var p = Payload()
        p.sender = Data(k.alice.publicKey.bytes)
        p.recipient = Data((recipient ?? k.bob.publicKey).bytes)
        p.timestampMs = timestampMs
        p.sessionID = sessionID
        p.sequence = sequence
        if credentials {
            var creds = IceCredentials()
            creds.ufrag = "Xy7q"
            creds.pwd = "9Uq2mZp4Lr8sTn0vWb6yHd3k"
            creds.generation = 1
            p.credentials = creds
        }
        return p
    }

    /// Boxes `plaintext` as Sealer does, but lets the envelope's keys differ from the box's.
    static func box(_ plaintext: [UInt8], nonce: [UInt8], by sealer: PrivateKey, to recipient: Key,
                    sender: [UInt8]? = nil, claimedRecipient: [UInt8]? = nil) -> Envelope {
        var e = Envelope()
        e.sender = Data(sender ?? sealer.publicKey.bytes)
        e.recipient = Data(claimedRecipient ?? recipient.bytes)
        e.nonce = Data(nonce)
        e.ciphertext = Data(Box.seal(plaintext, nonce: nonce, to: recipient, from: sealer))
        return e
    }

    static func bytes(_ p: Payload) -> [UInt8] { try! p.serializedBytes() }

    /// The worked example's envelope, sealed by the real Sealer.
    static func e0(_ k: Cast) -> Envelope {
        var sealer = Sealer(key: k.alice, sessionID: 0x0102_0304_0506_0708)
        return sealer.seal(.credentials(payload(k).credentials), to: k.bob.publicKey,
                           now: Date(timeIntervalSince1970: Double(t0) / 1000), nonce: nonce0)
    }

    /// Each opened by a fresh receiver.
    static func independent(_ k: Cast) -> [Vector] {
        let base = e0(k)
        var nextNonce: UInt8 = 0
        func fresh() -> [UInt8] { nextNonce += 1; return [nextNonce] + nonce0.dropFirst() }
        func edit(_ change: (inout Envelope) -> Void) -> Envelope { var e = base; change(&e); return e }
        func v(_ id: String, _ expected: DropReason?, _ what: String, _ e: Envelope, receiver: String = "bob", clock: Int64 = t0) -> Vector {
            Vector(id: id, what: what, receiver: receiver, clockMs: clock, envelope: e, expected: expected)
        }
        let toCarol = box(bytes(payload(k, recipient: k.carol.publicKey)), nonce: nonce0, by: k.alice, to: k.carol.publicKey)
        var badUTF8 = bytes(payload(k))
        let ufrag: [UInt8] = [0x0a, 0x04, 0x58, 0x79, 0x37, 0x71]  // "Xy7q"
        let at = (0...(badUTF8.count - ufrag.count)).first { Array(badUTF8[$0..<$0 + ufrag.count]) == ufrag }!
        badUTF8[at + 4] = 0xff
        let reflected = edit { ($0.sender, $0.recipient) = ($0.recipient, $0.sender) }
        return [
            v("A1", .malformed, "sender 31 bytes: E0 without the last byte of sender", edit { $0.sender.removeLast() }),
            v("A2", .malformed, "recipient 33 bytes: E0 with 00 appended to recipient", edit { $0.recipient.append(0) }),
            v("A3", .malformed, "nonce 23 bytes: E0 without the last byte of nonce", edit { $0.nonce.removeLast() }),
            v("A4", .malformed, "no nonce: E0 without field 3", edit { $0.nonce = Data() }),
            v("A5", .malformed, "ciphertext 15 bytes: the first 15 bytes of E0's ciphertext", edit { $0.ciphertext = $0.ciphertext.prefix(15) }),
            v("A6", .keyMismatch, "ciphertext 16 bytes (well formed): the empty plaintext boxed alice -> bob; it parses as an empty Payload",
              box([], nonce: fresh(), by: k.alice, to: k.bob.publicKey)),
            v("A7", .notForMe, "for carol: E0's payload with recipient carol, boxed alice -> carol with E0's nonce", toCarol),
            v("A8", .malformed, "A7 with a 23-byte nonce (well-formedness is checked before the recipient)",
              { var e = toCarol; e.nonce.removeLast(); return e }()),
            v("A9", .notForMe, "A7 with ciphertext byte 16 xor 01 (the recipient is checked before the box)",
              { var e = toCarol; e.ciphertext[e.ciphertext.startIndex + 16] ^= 1; return e }()),
            v("A10", .authentication, "E0 with ciphertext byte 16 (the first after the MAC) xor 01",
              edit { $0.ciphertext[$0.ciphertext.startIndex + 16] ^= 1 }),
            v("A11", .authentication, "E0 with ciphertext byte 0 (the MAC) xor 01", edit { $0.ciphertext[$0.ciphertext.startIndex] ^= 1 }),
            v("A12", .authentication, "E0 with nonce byte 0 xor 01", edit { $0.nonce[$0.nonce.startIndex] ^= 1 }),
            v("A13", .authentication, "forged: E0's payload boxed carol -> bob with E0's nonce, envelope sender alice",
              box(bytes(payload(k)), nonce: nonce0, by: k.carol, to: k.bob.publicKey, sender: k.alice.publicKey.bytes)),
            v("A14", .authentication, "A7 with its recipient rewritten to bob (boxed for carol)",
              { var e = toCarol; e.recipient = Data(k.bob.publicKey.bytes); return e }()),
            v("A15", .authentication, "E0 with sender 32 zero bytes (a low-order point: the X25519 result is zero)",
              edit { $0.sender = Data(count: 32) }),
            v("A16", .malformed, "plaintext not a Payload: E0's payload without its last byte, boxed alice -> bob",
              box(Array(bytes(payload(k)).dropLast()), nonce: fresh(), by: k.alice, to: k.bob.publicKey)),
            v("A17", .malformed, "invalid UTF-8: E0's payload with ufrag bytes 58 79 ff 71, boxed alice -> bob",
              box(badUTF8, nonce: fresh(), by: k.alice, to: k.bob.publicKey)),
            v("A18", .keyMismatch, "reflected: E0 with sender and recipient swapped, received by alice", reflected, receiver: "alice"),
            v("A19", .keyMismatch, "E0's payload with recipient carol, boxed alice -> bob",
              box(bytes(payload(k, recipient: k.carol.publicKey)), nonce: fresh(), by: k.alice, to: k.bob.publicKey)),
            v("A20", .keyMismatch, "A18 at clock t0 + 61000 (keys are checked before the clock)", reflected, receiver: "alice", clock: t0 + 61_000),
            v("A21", .stale, "E0 at clock t0 + 61000", base, clock: t0 + 61_000),
            v("A22", .stale, "E0 at clock t0 - 61000", base, clock: t0 - 61_000),
            v("A23", nil, "E0 at clock t0 + 60000 (the bound is inclusive)", base, clock: t0 + 60_000),
            v("A24", .stale, "E0 at clock t0 + 60001", base, clock: t0 + 60_001),
            v("A25", nil, "E0 at clock t0 - 60000", base, clock: t0 - 60_000),
            v("A26", .stale, "E0 at clock t0 - 60001", base, clock: t0 - 60_001),
            v("A27", nil, "unknown kind: E0's payload with field 14 (empty message, 7200) instead of credentials; passes, then ignored",
              box(bytes(payload(k, credentials: false)) + [0x72, 0x00], nonce: fresh(), by: k.alice, to: k.bob.publicKey)),
        ]
    }

    /// Opened in this order by one receiver (bob): the replay window's state carries from one to the next.
    static func inOrder(_ k: Cast) -> [Vector] {
        let base = e0(k)
        func sealed(_ nonceFirst: UInt8, sessionID: UInt64 = 0x0102_0304_0506_0708, sequence: UInt64, timestampMs: Int64 = t0) -> Envelope {
            box(bytes(payload(k, sessionID: sessionID, sequence: sequence, timestampMs: timestampMs)),
                nonce: [nonceFirst] + nonce0.dropFirst(), by: k.alice, to: k.bob.publicKey)
        }
        func v(_ id: String, _ expected: DropReason?, _ what: String, _ e: Envelope, clock: Int64 = t0) -> Vector {
            Vector(id: id, what: what, receiver: "bob", clockMs: clock, envelope: e, expected: expected)
        }
        let b6 = sealed(0xb6, sequence: 977), b11 = sealed(0xbb, sessionID: 0, sequence: 1)
        return [
            v("B1", nil, "E0 (sequence 1)", base),
            v("B2", .replayed, "E0 again", base),
            v("B3", .stale, "E0 again at clock t0 + 61000 (the clock is checked before the window)", base, clock: t0 + 61_000),
            v("B4", nil, "sequence 2000 (highest H = 2000)", sealed(0xb4, sequence: 2000)),
            v("B5", .replayed, "sequence 976 = H - 1024, never seen", sealed(0xb5, sequence: 976)),
            v("B6", nil, "sequence 977 = H - 1023, the oldest inside the window", b6),
            v("B7", .replayed, "B6 again", b6),
            v("B8", .replayed, "sequence 0", sealed(0xb8, sequence: 0)),
            v("B9", .stale, "sequence 3000, timestamp t0 - 61000", sealed(0xb9, sequence: 3000, timestampMs: t0 - 61_000)),
            v("B10", nil, "sequence 3000, timestamp t0 (B9 did not mark it)", sealed(0xba, sequence: 3000)),
            v("B11", nil, "session_id 0, sequence 1 (session 0 is an ordinary session)", b11),
            v("B12", .replayed, "B11 again", b11),
        ]
    }

    /// What the real Opener does with each vector, in order.
    static func outcomes(_ k: Cast) -> [(Vector, DropReason?)] {
        func clock(_ ms: Int64) -> Date { Date(timeIntervalSince1970: Double(ms) / 1000) }
        func outcome(_ result: Result<ReceivedMessage, DropReason>) -> DropReason? {
            if case .failure(let reason) = result { return reason }
            return nil
        }
        var results = independent(k).map { v in
            var opener = Opener(key: k.named(v.receiver))
            return (v, outcome(opener.open(v.envelope, now: clock(v.clockMs))))
        }
        var bob = Opener(key: k.bob)
        results += inOrder(k).map { v in (v, outcome(bob.open(v.envelope, now: clock(v.clockMs)))) }
        return results
    }

    /// The block docs/PROTOCOL.md §9.1 carries.
    static func text() throws -> String {
        let k = try cast()
        func hex<B: Sequence<UInt8>>(_ b: B) -> String { b.map { String(format: "%02x", $0) }.joined() }
        let e0Bytes: [UInt8] = try e0(k).serializedBytes()
        var lines = [
            "carol private key (base64) \(VectorTests.privateBase64(k.carol))",
            "carol public key (hex)     \(hex(k.carol.publicKey.bytes))",
            "t0 = 1700000000123 (the worked example's timestamp_ms)",
            "E0 = the worked example's Envelope (alice -> bob), serialized:",
            "  \(hex(e0Bytes))",
            "",
            "A: each opened by a fresh receiver; receiver bob and clock t0 unless stated",
        ]
        for (v, outcome) in outcomes(k) {
            if v.id == "B1" { lines += ["", "B: opened in this order by one receiver, bob; clock t0 unless stated"] }
            let label = outcome.map { "\($0)" } ?? "accepted"
            let receiver = v.receiver == "bob" ? "" : " [receiver \(v.receiver)]"
            let bytes: [UInt8] = try v.envelope.serializedBytes()
            lines += ["\(v.id) \(label): \(v.what)\(receiver)", bytes == e0Bytes ? "  (E0)" : "  \(hex(bytes))"]
        }
        return lines.joined(separator: "\n")
    }
}
