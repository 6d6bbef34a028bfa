import CSodium

/// Curve25519 Diffie-Hellman (RFC 7748) from libsodium.
enum X25519 {
    private static let ready: Bool = sodium_init() >= 0

    static func random(_ count: Int) -> [UInt8] {
        precondition(ready)
        var out = [UInt8](repeating: 0, count: count)
        randombytes_buf(&out, count)
        return out
    }

    /// A clamped private key, as `wg genkey` makes them.
    static func generatePrivate() -> [UInt8] { clamp(random(32)) }

    /// RFC 7748's clamping, which X25519 applies to the scalar anyway.
    static func clamp(_ key: [UInt8]) -> [UInt8] {
        var key = key
        key[0] &= 248
        key[31] = (key[31] & 127) | 64
        return key
    }

    static func publicKey(_ privateKey: [UInt8]) -> [UInt8] {
        precondition(ready)
        var out = [UInt8](repeating: 0, count: 32)
        crypto_scalarmult_curve25519_base(&out, privateKey)
        return out
    }

    /// nil for a low-order point (an all-zero shared secret), which the handshake must reject.
    static func sharedSecret(_ privateKey: [UInt8], _ publicKey: [UInt8]) -> [UInt8]? {
        precondition(ready)
        var out = [UInt8](repeating: 0, count: 32)
        return crypto_scalarmult_curve25519(&out, privateKey, publicKey) == 0 ? out : nil
    }
}
