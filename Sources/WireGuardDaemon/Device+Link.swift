/// `ip link set down` and `up`, as wireguard-go's Down and Up: down closes the sockets, forgets every session and
/// handshake and drops what waited; up opens the sockets again on the same port and sends the persistent
/// keepalives. Until the link is first brought down the device runs as it started: sockets open, so that it can be
/// configured and answer before `ip link set up`.
extension Device {
    func linkDown() {
        guard !isDown else { return }
        isDown = true
        sockets.closeAll()
        for id in peers.ids {
            expireSessions(id)
            peers[id]!.staged = []
            peers[id]!.timers = PeerTimers()
        }
    }

    /// Returns 0 or the errno of the bind.
    @discardableResult
    func linkUp(now: UInt64) -> Int32 {
        guard isDown else { return 0 }
        if !sockets.isOpen {
            let code = sockets.bind(port: sockets.port)
            guard code == 0 else { return code }
        }
        isDown = false
        for id in peers.ids where peers[id]!.persistentKeepalive > 0 { sendKeepalive(id, now: now) }
        return 0
    }
}
