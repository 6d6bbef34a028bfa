import Keys
import Foundation
import SwiftProtobuf

/// Seals payloads for peers with this interface's WireGuard key. One per sender process: the random
/// session id and the sequence counter are what receivers use to refuse replays.
public struct Sealer: Sendable {
    public let key: PrivateKey
    public let sessionID: UInt64
    public private(set) var sequence: UInt64 = 0

    public init(key: PrivateKey, sessionID: UInt64 = UInt64.random(in: 1...UInt64.max)) {
        self.key = key
        self.sessionID = sessionID
    }

    /// Seals `kind` for `recipient`. `nonce` and `now` are parameters only so test vectors are reproducible;
    /// leave them out in real use (a nonce must never repeat for a key pair).
    public mutating func seal(_ kind: PayloadKind, to recipient: Key,
                              now: Date = Date(), nonce: [UInt8]? = nil) -> Envelope {
        sequence += 1
        var payload = Payload()
        payload.sender = Data(key.publicKey.bytes)
        payload.recipient = Data(recipient.bytes)
        payload.timestampMs = Int64((now.timeIntervalSince1970 * 1000).rounded(.down))
        payload.sessionID = sessionID
        payload.sequence = sequence
        payload.kind = kind
        let plaintext = [UInt8](try! payload.serializedBytes() as [UInt8])
        let nonce = nonce ?? randomBytes(Box.nonceLength)
        var envelope = Envelope()
        envelope.sender = Data(key.publicKey.bytes)
        envelope.recipient = Data(recipient.bytes)
        envelope.nonce = Data(nonce)
        envelope.ciphertext = Data(Box.seal(plaintext, nonce: nonce, to: recipient, from: key))
        return envelope
    }
}

/// A payload that decrypted, authenticated and passed the replay checks.
public struct ReceivedMessage: Sendable, Equatable {
    public var from: Key
    public var payload: Payload
}

/// Why a receiver dropped an envelope. Every drop is one of these; none reveals plaintext.
public enum DropReason: Error, Equatable, Sendable {
    case malformed          // wrong field lengths or undecodable plaintext
    case notForMe           // addressed to another key
    case authentication     // MAC failed: tampered, wrong sender key, or not encrypted to us
    case keyMismatch        // inner sender/recipient differ from the envelope (e.g. reflected back to us)
    case stale              // timestamp outside ±replayWindow
    case notAPeer           // authentic, but from a key the receiver does not follow
    case replayed           // (session, sequence) already accepted or older than the sequence window
}

/// Opens envelopes addressed to this key and refuses forgeries and replays.
public struct Opener: Sendable {
    public let key: PrivateKey
    private var replay: ReplayFilter

    public init(key: PrivateKey, replay: ReplayFilter = ReplayFilter()) {
        self.key = key
        self.replay = replay
    }

    /// `isPeer` says which senders the receiver follows; the others are dropped before the replay memory, so
    /// that keys made for the purpose cannot evict the entries of real peers (docs/PROTOCOL.md §3.4, step 7).
    public mutating func open(_ envelope: Envelope, now: Date = Date(),
                              isPeer: (Key) -> Bool = { _ in true }) -> Result<ReceivedMessage, DropReason> {
        guard envelope.isWellFormed, let sender = Key(bytes: envelope.sender) else { return .failure(.malformed) }
        guard envelope.recipient == Data(key.publicKey.bytes) else { return .failure(.notForMe) }
        guard let plaintext = Box.open([UInt8](envelope.ciphertext), nonce: [UInt8](envelope.nonce), from: sender, to: key) else {
            return .failure(.authentication)
        }
        guard let payload = try? Payload(serializedBytes: plaintext) else { return .failure(.malformed) }
        guard payload.sender == envelope.sender, payload.recipient == envelope.recipient else { return .failure(.keyMismatch) }
        let age = now.timeIntervalSince1970 - Double(payload.timestampMs) / 1000
        guard abs(age) <= SignalProtocol.replayWindow else { return .failure(.stale) }
        guard isPeer(sender) else { return .failure(.notAPeer) }
        guard replay.accept(sender: sender, session: payload.sessionID, sequence: payload.sequence, now: now) else {
            return .failure(.replayed)
        }
        return .success(ReceivedMessage(from: sender, payload: payload))
    }
}
