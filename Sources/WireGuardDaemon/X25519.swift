import CSodium

/// Curve25519 Diffie-Hellman (RFC 7748) from libsodium. Private keys and shared secrets are `Secret`s, which
/// libsodium reads and writes in place.
enum X25519 {
    private static let ready: Bool = sodium_init() >= 0

    static func random(_ count: Int) -> [UInt8] {
        precondition(ready)
        var out = [UInt8](repeating: 0, count: count)
        randombytes_buf(&out, count)
        return out
    }

    /// A clamped private key, as `wg genkey` makes them: the handshake's ephemeral keys.
    static func generateSecret() -> Secret {
        precondition(ready)
        let key = Secret(count: 32)
        randombytes_buf(key.bytes, 32)
        clamp(key.bytes)
        return key
    }

    /// A key for tests and fixtures, which hand it around as text.
    static func generatePrivate() -> [UInt8] { generateSecret().array }

    /// RFC 7748's clamping, which X25519 applies to the scalar anyway.
    static func clamp(_ key: UnsafeMutablePointer<UInt8>) {
        key[0] &= 248
        key[31] = (key[31] & 127) | 64
    }

    static func publicKey(_ privateKey: Secret) -> [UInt8] {
        precondition(ready)
        var out = [UInt8](repeating: 0, count: 32)
        crypto_scalarmult_curve25519_base(&out, privateKey.bytes)
        return out
    }

    static func publicKey(_ privateKey: [UInt8]) -> [UInt8] { publicKey(Secret(privateKey)) }

    /// nil for a low-order point (an all-zero shared secret), which the handshake must reject.
    static func sharedSecret(_ privateKey: Secret, _ publicKey: UnsafeRawBufferPointer) -> Secret? {
        precondition(ready && publicKey.count == 32)
        let out = Secret(count: 32)
        return crypto_scalarmult_curve25519(out.bytes, privateKey.bytes,
                                            publicKey.baseAddress!.assumingMemoryBound(to: UInt8.self)) == 0 ? out : nil
    }

    static func sharedSecret(_ privateKey: Secret, _ publicKey: [UInt8]) -> Secret? {
        publicKey.withUnsafeBytes { sharedSecret(privateKey, $0) }
    }
}
