import CSodium
import Foundation

/// libsodium must be initialised once before use; every entry point that calls it touches this first.
let sodiumReady: Void = {
    precondition(sodium_init() >= 0, "libsodium failed to initialise")
}()

public enum KeyError: Error, Equatable, CustomStringConvertible {
    case badBase64
    case badLength(Int)

    public var description: String {
        switch self {
        case .badBase64: return "key is not valid base64"
        case .badLength(let n): return "key must be 32 bytes, got \(n)"
        }
    }
}

/// A WireGuard (X25519) public key: the address of a peer on the signaling network.
public struct PublicKey: Hashable, Sendable, CustomStringConvertible {
    public static let length = 32
    public let bytes: [UInt8]

    public init<B: Collection<UInt8>>(bytes: B) throws {
        guard bytes.count == Self.length else { throw KeyError.badLength(bytes.count) }
        self.bytes = Array(bytes)
    }

    /// The `wg pubkey` / wg-quick form: 44 characters of standard base64.
    public init(base64: String) throws {
        guard let data = Data(base64Encoded: base64.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw KeyError.badBase64
        }
        try self.init(bytes: data)
    }

    public var base64: String { Data(bytes).base64EncodedString() }
    public var description: String { base64 }
}

/// A WireGuard (X25519) private key. Its description never reveals the key, so it can't leak into logs.
public struct PrivateKey: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    let bytes: [UInt8]
    public let publicKey: PublicKey

    public init<B: Collection<UInt8>>(bytes: B) throws {
        guard bytes.count == PublicKey.length else { throw KeyError.badLength(bytes.count) }
        _ = sodiumReady
        let secret = Array(bytes)
        var pub = [UInt8](repeating: 0, count: PublicKey.length)
        // WireGuard's public key is exactly X25519(secret, basepoint); libsodium clamps the scalar the same way.
        guard crypto_scalarmult_base(&pub, secret) == 0 else { throw KeyError.badLength(secret.count) }
        self.bytes = secret
        self.publicKey = try PublicKey(bytes: pub)
    }

    /// The `wg genkey` form.
    public init(base64: String) throws {
        guard let data = Data(base64Encoded: base64.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw KeyError.badBase64
        }
        try self.init(bytes: data)
    }

    /// A fresh key pair from libsodium's CSPRNG (clamped like `wg genkey`).
    public static func generate() -> PrivateKey {
        var secret = randomBytes(PublicKey.length)
        secret[0] &= 248
        secret[31] = (secret[31] & 127) | 64
        return try! PrivateKey(bytes: secret)
    }

    public var description: String { "PrivateKey(public: \(publicKey))" }
    public var debugDescription: String { description }
}

/// Bytes from libsodium's CSPRNG.
public func randomBytes(_ count: Int) -> [UInt8] {
    _ = sodiumReady
    var out = [UInt8](repeating: 0, count: count)
    randombytes_buf(&out, count)
    return out
}
