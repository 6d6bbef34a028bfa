/// The sending side of mac1/mac2 (whitepaper section 5.4.4) for one peer: stamps our handshake messages and
/// keeps the cookie a loaded responder sent.
struct CookieJar {
    private var cookie: [UInt8]?
    private var cookieTime: UInt64 = 0
    /// The mac1 of our last handshake message: a cookie reply must be bound to it.
    private var lastMAC1: [UInt8]?

    /// Writes mac1 and, while a cookie is fresh, mac2 at the end of message `m`.
    mutating func stamp(_ m: inout [UInt8], remote: RemoteIdentity, now: UInt64) {
        let mac1At = m.count - 32, mac2At = m.count - 16
        let mac1 = m.withUnsafeBytes { Blake2s.mac(key: remote.mac1Key, UnsafeRawBufferPointer(rebasing: $0[..<mac1At])) }
        m.replaceSubrange(mac1At..<mac2At, with: mac1)
        lastMAC1 = mac1
        guard let cookie, Clock.elapsed(now, since: cookieTime) < Protocol.cookieRefreshTime else {
            m.replaceSubrange(mac2At..., with: [UInt8](repeating: 0, count: 16))
            return
        }
        let mac2 = m.withUnsafeBytes { Blake2s.mac(key: cookie, UnsafeRawBufferPointer(rebasing: $0[..<mac2At])) }
        m.replaceSubrange(mac2At..., with: mac2)
    }

    /// Takes the cookie from a reply to our last message; false if it does not decrypt.
    mutating func consume(_ reply: UnsafeRawBufferPointer, remote: RemoteIdentity, now: UInt64) -> Bool {
        guard reply.count == Layout.CookieReply.size, let lastMAC1 else { return false }
        let nonce = reply.bytes(Layout.CookieReply.nonce, 24)
        let sealed = reply.bytes(Layout.CookieReply.encryptedCookie, 16 + AEAD.tagSize)
        guard let value = AEAD.xopen(key: remote.cookieKey, nonce: nonce, sealed, ad: lastMAC1) else { return false }
        cookie = value
        cookieTime = now
        self.lastMAC1 = nil
        return true
    }
}
