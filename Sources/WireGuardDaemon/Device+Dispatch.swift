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
            let sender = message.le32(at: Layout.Initiation.sender)
            let start = Clock.now()
            if admitHandshake(message, sender: sender, from: source, now: now) {
                receiveInitiation(message, from: source, now: now)
            }
            load.record(start: start, cost: Clock.now() - start)
        case (UInt32(MessageType.response.rawValue), Layout.Response.size):
            let sender = message.le32(at: Layout.Response.sender)
            let start = Clock.now()
            if admitHandshake(message, sender: sender, from: source, now: now) {
                receiveResponse(message, from: source, now: now)
            }
            load.record(start: start, cost: Clock.now() - start)
        case (UInt32(MessageType.cookieReply.rawValue), Layout.CookieReply.size):
            receiveCookieReply(message, now: now)
        case (UInt32(MessageType.transport.rawValue), Layout.Transport.minimumSize...):
            receiveTransport(count: count, from: source, now: now)
        default:
            return
        }
    }
}
