/// One configured peer: its identity, its sessions, what waits for a session and its counters.
struct Peer {
    static let maxStaged = 128

    var remote: RemoteIdentity
    /// Replaced, not overwritten, when `set`: the old one is wiped as it is dropped.
    var presharedKey = Secret(count: 32)
    var endpoint: Endpoint?
    var persistentKeepalive: UInt16 = 0
    var rxBytes: UInt64 = 0
    var txBytes: UInt64 = 0
    /// Wall-clock nanoseconds of the last completed handshake, 0 if none.
    var lastHandshake: UInt64 = 0

    var cookies = CookieJar()
    /// Our initiation in flight.
    var initiation: Noise.InitiatorState?
    var lastInitiationSent: UInt64 = 0
    /// The newest TAI64N we accepted from this peer: older initiations are replays.
    var lastTimestamp = [UInt8](repeating: 0, count: TAI64N.size)
    var lastInitiationConsumed: UInt64 = 0

    var previous: Keypair?
    var current: Keypair?
    /// A responder's session until the initiator's first message confirms it.
    var next: Keypair?

    /// Packets waiting for a session: bounded, the oldest go first.
    var staged = [[UInt8]]()
    var timers = PeerTimers()

    init(remote: RemoteIdentity) {
        self.remote = remote
    }

    /// Local indices this peer holds in the device's index table.
    var indices: [UInt32] {
        [initiation?.localIndex, previous?.localIndex, current?.localIndex, next?.localIndex].compactMap { $0 }
    }

    mutating func stage(_ packet: UnsafeRawBufferPointer) {
        if staged.count >= Self.maxStaged { staged.removeFirst() }
        staged.append(Array(packet))
    }
}
