import Keys
import Foundation
import SwiftProtobuf

// Short names for the generated wire types (Protos/signal.proto).
public typealias Envelope = Wgice_Signal_V1_Envelope
public typealias Payload = Wgice_Signal_V1_Payload
public typealias IceCredentials = Wgice_Signal_V1_IceCredentials
public typealias Candidate = Wgice_Signal_V1_Candidate
public typealias EndOfCandidates = Wgice_Signal_V1_EndOfCandidates
public typealias Bye = Wgice_Signal_V1_Bye
public typealias IceServers = Wgice_Signal_V1_IceServers
public typealias ClientFrame = Wgice_Signal_V1_ClientFrame
public typealias ServerFrame = Wgice_Signal_V1_ServerFrame
public typealias ErrorCode = Wgice_Signal_V1_ErrorCode
public typealias PublishStatus = Wgice_Signal_V1_PublishResult.Status

/// What a payload says, without the replay-protection header.
public typealias PayloadKind = Wgice_Signal_V1_Payload.OneOf_Kind

/// Protocol-wide constants; docs/PROTOCOL.md repeats them.
public enum SignalProtocol {
    /// Receivers drop payloads whose timestamp is further than this from their clock.
    public static let replayWindow: TimeInterval = 60
    /// Default largest serialized frame a server accepts (it announces its own in Subscribed).
    public static let defaultMaxMessageSize = 16 * 1024
    /// WebSocket path of the signaling endpoint.
    public static let webSocketPath = "/v1/signal"
}

extension Envelope {
    /// Structural checks the server and receivers apply before anything else.
    public var isWellFormed: Bool {
        sender.count == Key.length && recipient.count == Key.length
            && nonce.count == Box.nonceLength && ciphertext.count >= Box.macLength
    }
}

extension ServerFrame {
    public static func error(_ code: ErrorCode, _ message: String) -> ServerFrame {
        var frame = ServerFrame()
        frame.error.code = code
        frame.error.message = message
        return frame
    }
}
