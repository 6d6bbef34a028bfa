/// Sorts what arrives on the UDP sockets by message type and size (whitepaper section 5.4).
extension Device {
    /// The datagram of `count` bytes at the start of `buffer`, from `source`.
    func receiveDatagram(count: Int, from source: Endpoint, now: UInt64) {
        guard count >= 4 else { return }
        let message = UnsafeRawBufferPointer(rebasing: buffer[..<count])
        // The type is a little-endian 32-bit word: the three reserved bytes must be zero.
        let type = message.le32(at: 0)
        switch (type, count) {
        case (UInt32(MessageType.initiation.rawValue), Layout.Initiation.size):
            receiveHandshake(message, senderAt: Layout.Initiation.sender, from: source, now: now) {
                receiveInitiation(message, from: source, now: now)
            }
        case (UInt32(MessageType.response.rawValue), Layout.Response.size):
            receiveHandshake(message, senderAt: Layout.Response.sender, from: source, now: now) {
                receiveResponse(message, from: source, now: now)
            }
        case (UInt32(MessageType.cookieReply.rawValue), Layout.CookieReply.size):
            receiveCookieReply(message, now: now)
        case (UInt32(MessageType.transport.rawValue), Layout.Transport.minimumSize...):
            receiveTransport(count: count, from: source, now: now)
        default:
            return
        }
    }

    /// Admits a handshake message (mac1, mac2 under load, rate limits) before `handle` does the costly part,
    /// and counts the time both took towards the load that decides when cookies are required.
    private func receiveHandshake(_ message: UnsafeRawBufferPointer, senderAt offset: Int, from source: Endpoint,
                                  now: UInt64, handle: () -> Void) {
        let start = Clock.now()
        if admitHandshake(message, sender: message.le32(at: offset), from: source, now: now) { handle() }
        load.record(start: start, cost: Clock.now() - start)
    }
}
