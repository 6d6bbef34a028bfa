import Keys
import CSodium
import Foundation

/// The subscription handshake: proves to the server that a client holds the secret key of the public key
/// it subscribes to, without the server holding any long-term secret (docs/PROTOCOL.md, "Handshake").
///
/// Per connection the server makes a fresh ephemeral X25519 key pair and a 32-byte challenge. The client
/// boxes a transcript (challenge, both keys, transport, authority) from its WireGuard key to the ephemeral
/// key; only the holder of the client's secret (or the server's ephemeral secret, discarded after the
/// handshake) can produce a box that opens with that pair.
public enum AuthProof {
    public static let label = Array("wg-ice-signal auth v1".utf8)
    public static let challengeLength = 32
    public static let transports: Set<String> = ["ws", "grpc"]

    /// The exact bytes that are boxed; see docs/PROTOCOL.md for the layout.
    public static func transcript(serverEphemeral: Key, challenge: [UInt8], client: Key,
                                  transport: String, authority: String) -> [UInt8]? {
        let t = Array(transport.utf8), a = Array(authority.utf8)
        guard challenge.count == challengeLength, t.count <= 255, a.count <= 65535 else { return nil }
        var out = label
        out.append(0)
        out += serverEphemeral.bytes
        out += challenge
        out += client.bytes
        out.append(UInt8(t.count))
        out += t
        out.append(UInt8(a.count >> 8))
        out.append(UInt8(a.count & 0xff))
        out += a
        return out
    }

    /// Client side: answers a Challenge frame.
    public static func respond(to challenge: Wgice_Signal_V1_Challenge, key: PrivateKey, transport: String,
                               authority: String, nonce: [UInt8] = randomBytes(Box.nonceLength)) throws -> ClientFrame {
        guard let server = Key(bytes: challenge.serverEphemeralKey),
              let transcript = transcript(serverEphemeral: server, challenge: [UInt8](challenge.challenge),
                                          client: key.publicKey, transport: transport, authority: authority)
        else { throw SignalingError.protocolViolation("malformed challenge") }
        var frame = ClientFrame()
        frame.auth.publicKey = Data(key.publicKey.bytes)
        frame.auth.nonce = Data(nonce)
        frame.auth.proof = Data(Box.seal(transcript, nonce: nonce, to: server, from: key))
        frame.auth.transport = transport
        frame.auth.authority = authority
        return frame
    }

    /// Server side: the client's key if `auth` proves possession for this connection, else nil.
    /// `transport` is what the server actually accepted the connection on; `authorityAllowed` decides
    /// whether the dialled name in the proof is one this server answers to.
    public static func verify(_ auth: Wgice_Signal_V1_Auth, ephemeral: PrivateKey, challenge: [UInt8], transport: String,
                              authorityAllowed: (String) -> Bool) -> Key? {
        guard auth.transport == transport, authorityAllowed(auth.authority),
              let client = Key(bytes: auth.publicKey),
              let expected = transcript(serverEphemeral: ephemeral.publicKey, challenge: challenge, client: client,
                                        transport: transport, authority: auth.authority),
              let opened = Box.open([UInt8](auth.proof), nonce: [UInt8](auth.nonce), from: client, to: ephemeral),
              opened.count == expected.count,
              sodium_memcmp(opened, expected, expected.count) == 0
        else { return nil }
        return client
    }
}
