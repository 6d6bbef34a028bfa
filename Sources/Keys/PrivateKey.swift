import CSodium

/// A WireGuard (X25519) private key with its public key. Its description never shows the secret, so it cannot
/// leak into logs or status output; `secret` is for the places that must hand it on (UAPI, netlink,
/// `wg showconf`, crypto_box).
public struct PrivateKey: Hashable, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    public let secret: Key
    public let publicKey: Key

    /// WireGuard's public key is X25519(secret, basepoint); libsodium clamps the scalar the same way.
    public init(_ secret: Key) {
        _ = sodiumReady
        var publicBytes = [UInt8](repeating: 0, count: Key.length)
        _ = crypto_scalarmult_curve25519_base(&publicBytes, secret.bytes)
        self.secret = secret
        self.publicKey = Key(bytes: publicBytes)!
    }

    public init?(bytes: some Collection<UInt8>) {
        guard let secret = Key(bytes: bytes) else { return nil }
        self.init(secret)
    }

    public init?(hex: some StringProtocol) {
        guard let secret = Key(hex: hex) else { return nil }
        self.init(secret)
    }

    /// The `wg genkey` form.
    public init?(base64: some StringProtocol) {
        guard let secret = Key(base64: base64) else { return nil }
        self.init(secret)
    }

    /// A new key from libsodium's CSPRNG, clamped like `wg genkey`.
    public static func generate() -> PrivateKey {
        var bytes = randomBytes(Key.length)
        bytes[0] &= 248
        bytes[31] = (bytes[31] & 127) | 64
        return PrivateKey(Key(bytes: bytes)!)
    }

    public var description: String { "PrivateKey(public: \(publicKey))" }
    public var debugDescription: String { description }
}

/// libsodium must be initialised once before use; every entry point that calls it touches this first.
public let sodiumReady: Void = {
    precondition(sodium_init() >= 0, "libsodium failed to initialise")
}()

/// Bytes from libsodium's CSPRNG.
public func randomBytes(_ count: Int) -> [UInt8] {
    _ = sodiumReady
    var out = [UInt8](repeating: 0, count: count)
    randombytes_buf(&out, count)
    return out
}
