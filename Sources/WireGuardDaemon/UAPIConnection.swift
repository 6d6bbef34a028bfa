/// One client of the UAPI socket: its stream, what it has been answered and not read yet. Replies are written
/// without blocking: a client that stops reading holds only its own connection.
struct UAPIConnection {
    var stream = UAPIStream()
    var output = [UInt8]()
    /// Bytes of `output` already sent.
    var sent = 0
    var lastActive: UInt64
    /// The client shut down its side: nothing more to read.
    var atEOF = false
    /// Close once `output` is sent: after an error reply (as wireguard-go), at the end of the stream.
    var closing = false
    /// Work is left: its time slice was spent, or its replies reached the high-water mark. The loop comes back to
    /// it without waiting for the socket once nothing of its output is left to send.
    var yielded = false
    /// Its request waits for another client's to finish (`UAPIServer.holder`).
    var deferred = false

    init(now: UInt64) { lastActive = now }

    var hasOutput: Bool { sent < output.count }
}
