import CSodium

/// ChaCha20-Poly1305 (RFC 8439, 64-bit counter nonces) and XChaCha20-Poly1305 (cookies), from libsodium.
enum AEAD {
    static let tagSize = 16

    /// Seals `count` bytes at `buffer` in place; `buffer` must have room for the tag after them.
    static func seal(key: Secret, counter: UInt64, buffer: UnsafeMutablePointer<UInt8>, count: Int,
                     ad: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0)) {
        var written: UInt64 = 0
        withUnsafeBytes(of: nonce(counter)) {
            _ = crypto_aead_chacha20poly1305_ietf_encrypt(buffer, &written, buffer, UInt64(count),
                                                          ad.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(ad.count),
                                                          nil, $0.baseAddress!.assumingMemoryBound(to: UInt8.self), key.bytes)
        }
    }

    /// Opens `count` bytes (ciphertext and tag) at `buffer` in place; false if they are not authentic.
    static func open(key: Secret, counter: UInt64, buffer: UnsafeMutablePointer<UInt8>, count: Int,
                     ad: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0)) -> Bool {
        guard count >= tagSize else { return false }
        var written: UInt64 = 0
        return withUnsafeBytes(of: nonce(counter)) {
            crypto_aead_chacha20poly1305_ietf_decrypt(buffer, &written, nil, buffer, UInt64(count),
                                                      ad.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(ad.count),
                                                      $0.baseAddress!.assumingMemoryBound(to: UInt8.self), key.bytes) == 0
        }
    }

    /// The handshake's AEAD, whose additional data is the running hash.
    static func seal(key: Secret, counter: UInt64, _ plaintext: [UInt8], ad: Secret) -> [UInt8] {
        var out = plaintext + [UInt8](repeating: 0, count: tagSize)
        out.withUnsafeMutableBufferPointer { seal(key: key, counter: counter, buffer: $0.baseAddress!,
                                                  count: plaintext.count, ad: ad.raw) }
        return out
    }

    static func open(key: Secret, counter: UInt64, _ ciphertext: [UInt8], ad: Secret) -> [UInt8]? {
        var out = ciphertext
        let ok = out.withUnsafeMutableBufferPointer {
            open(key: key, counter: counter, buffer: $0.baseAddress!, count: ciphertext.count, ad: ad.raw)
        }
        return ok ? Array(out.dropLast(tagSize)) : nil
    }

    static func xseal(key: [UInt8], nonce: [UInt8], _ plaintext: [UInt8], ad: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: plaintext.count + tagSize)
        var written: UInt64 = 0
        crypto_aead_xchacha20poly1305_ietf_encrypt(&out, &written, plaintext, UInt64(plaintext.count), ad,
                                                   UInt64(ad.count), nil, nonce, key)
        return out
    }

    static func xopen(key: [UInt8], nonce: [UInt8], _ ciphertext: [UInt8], ad: [UInt8]) -> [UInt8]? {
        guard ciphertext.count >= tagSize else { return nil }
        var out = [UInt8](repeating: 0, count: ciphertext.count - tagSize)
        var written: UInt64 = 0
        let r = crypto_aead_xchacha20poly1305_ietf_decrypt(&out, &written, nil, ciphertext, UInt64(ciphertext.count),
                                                           ad, UInt64(ad.count), nonce, key)
        return r == 0 ? out : nil
    }

    /// 32 zero bits then the counter little-endian, as WireGuard builds its 96-bit nonces.
    private static func nonce(_ counter: UInt64) -> (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                                                     UInt8, UInt8, UInt8, UInt8) {
        let c = counter.littleEndian
        return (0, 0, 0, 0, UInt8(truncatingIfNeeded: c), UInt8(truncatingIfNeeded: c >> 8),
                UInt8(truncatingIfNeeded: c >> 16), UInt8(truncatingIfNeeded: c >> 24),
                UInt8(truncatingIfNeeded: c >> 32), UInt8(truncatingIfNeeded: c >> 40),
                UInt8(truncatingIfNeeded: c >> 48), UInt8(truncatingIfNeeded: c >> 56))
    }
}
