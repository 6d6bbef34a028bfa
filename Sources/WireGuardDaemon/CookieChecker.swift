/// The receiving side of mac1/mac2 (whitepaper section 5.4.7): mac1 proves the sender knows our public key,
/// mac2 under load proves it can receive at its source address.
struct CookieChecker {
    private var secret = X25519.random(32)
    private var secretTime: UInt64 = 0

    static func validMAC1(_ m: UnsafeRawBufferPointer, local: LocalIdentity) -> Bool {
        let mac1At = m.count - 32
        let expected = Blake2s.mac(key: local.mac1Key, UnsafeRawBufferPointer(rebasing: m[..<mac1At]))
        return constantTimeEqual(expected, m.bytes(mac1At, 16))
    }

    mutating func validMAC2(_ m: UnsafeRawBufferPointer, source: [UInt8], now: UInt64) -> Bool {
        let mac2At = m.count - 16
        let expected = Blake2s.mac(key: cookie(for: source, now: now), UnsafeRawBufferPointer(rebasing: m[..<mac2At]))
        return constantTimeEqual(expected, m.bytes(mac2At, 16))
    }

    /// A cookie reply to handshake message `m` from `source`, addressed to the sender index `receiver`.
    mutating func reply(to m: UnsafeRawBufferPointer, receiver: UInt32, source: [UInt8], local: LocalIdentity,
                        now: UInt64) -> [UInt8] {
        var r = [UInt8].message(.cookieReply, size: Layout.CookieReply.size)
        let nonce = X25519.random(24)
        let sealed = AEAD.xseal(key: local.cookieKey, nonce: nonce, cookie(for: source, now: now),
                                ad: m.bytes(m.count - 32, 16))
        r.withUnsafeMutableBytes {
            $0.storeLE32(receiver, at: Layout.CookieReply.receiver)
            $0.store(nonce, at: Layout.CookieReply.nonce)
            $0.store(sealed, at: Layout.CookieReply.encryptedCookie)
        }
        return r
    }

    private mutating func cookie(for source: [UInt8], now: UInt64) -> [UInt8] {
        if secretTime == 0 || Clock.elapsed(now, since: secretTime) >= Protocol.cookieRefreshTime {
            secret = X25519.random(32)
            secretTime = now
        }
        return source.withUnsafeBytes { Blake2s.mac(key: secret, $0) }
    }
}

func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    var diff: UInt8 = 0
    for i in a.indices { diff |= a[i] ^ b[i] }
    return diff == 0
}
