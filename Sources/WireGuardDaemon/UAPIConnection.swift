/// One client of the UAPI socket: what it sent that is not yet a whole request, and the replies it has not
/// read yet. Replies are written without blocking: a client that stops reading holds only its own connection.
struct UAPIConnection {
    var input = [UInt8]()
    var output = [UInt8]()
    /// Bytes of `output` already sent.
    var sent = 0
    var lastActive: UInt64
    /// Close once `output` is sent: after an error reply (as wireguard-go), at the end of the stream.
    var closing = false

    init(now: UInt64) { lastActive = now }

    var hasOutput: Bool { sent < output.count }
}
