import Addresses

/// The data path: packets from the TUN encrypted to their peer, transport messages decrypted to the TUN.
/// Everything happens in `buffer`, in place: no allocation per packet unless a packet waits for a handshake.
extension Device {
    private var header: Int { Layout.Transport.headerSize }

    /// The IP packet of `length` bytes at the header offset of `buffer`, read from the TUN.
    func routeFromTUN(length: Int, now: UInt64) {
        let packet = UnsafeRawBufferPointer(rebasing: buffer[header..<(header + length)])
        guard let destination = Self.address(of: packet, source: false), let id = allowedIPs.lookup(destination),
              peers[id] != nil else { return }
        if peers[id]!.staged.isEmpty, sealAndSend(id, length: length, now: now) { return }
        peers[id]!.stage(packet)
        sendStaged(id, now: now)
    }

    func sendKeepalive(_ id: UInt32, now: UInt64) {
        guard peers[id] != nil else { return }
        if peers[id]!.staged.isEmpty { peers[id]!.staged.append([]) }
        sendStaged(id, now: now)
    }

    /// Sends what waited for a session, or starts the handshake that will give one.
    func sendStaged(_ id: UInt32, now: UInt64) {
        guard let peer = peers[id], !peer.staged.isEmpty else { return }
        guard peer.endpoint != nil, peer.current?.canSend(now: now) == true else {
            sendInitiation(id, retry: false, now: now)
            return
        }
        peers[id]!.staged = []
        for packet in peer.staged {
            packet.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: buffer[header...]).copyMemory(from: $0) }
            _ = sealAndSend(id, length: packet.count, now: now)
        }
    }

    /// Encrypts the `length` plaintext bytes after the header room of `buffer` with the current session and
    /// sends them; false without a usable session.
    private func sealAndSend(_ id: UInt32, length: Int, now: UInt64) -> Bool {
        guard peers[id]!.endpoint != nil, peers[id]!.current?.canSend(now: now) == true else { return false }
        let count = peers[id]!.current!.seal(buffer, length: length, mtu: mtu)
        if send(UnsafeRawBufferPointer(rebasing: buffer[..<count]), toPeer: id) { peers[id]!.txBytes += UInt64(count) }
        anyAuthenticatedPacketTraversal(id, now: now)
        anyAuthenticatedPacketSent(id)
        if length > 0 { dataSent(id, now: now) }
        if peers[id]!.current!.needsRekeyAfterSending(now: now) { sendInitiation(id, retry: false, now: now) }
        return true
    }

    private enum Slot { case previous, current, next }

    /// A transport message of `count` bytes at the start of `buffer`.
    func receiveTransport(count: Int, from source: Endpoint, now: UInt64) {
        let index = UnsafeRawBufferPointer(buffer).le32(at: Layout.Transport.receiver)
        // No copy of the peer here: a second reference to its replay window would make `open` copy the window.
        guard let id = indexTable[index], peers[id] != nil else { return }
        let slot: Slot
        if peers[id]!.current?.localIndex == index { slot = .current }
        else if peers[id]!.next?.localIndex == index { slot = .next }
        else if peers[id]!.previous?.localIndex == index { slot = .previous }
        else { return }
        let message = UnsafeMutableRawBufferPointer(rebasing: buffer[..<count])
        let plain: Int?
        switch slot {
        case .current: plain = peers[id]!.current!.canReceive(now: now) ? peers[id]!.current!.open(message, count: count) : nil
        case .next: plain = peers[id]!.next!.canReceive(now: now) ? peers[id]!.next!.open(message, count: count) : nil
        case .previous: plain = peers[id]!.previous!.canReceive(now: now) ? peers[id]!.previous!.open(message, count: count) : nil
        }
        guard let plain else { return }
        // What waited for the confirmed session is sealed in `buffer` too: only once this packet is on the TUN.
        let confirmed = slot == .next
        if confirmed { confirmNext(id) }
        defer { if confirmed { sendStaged(id, now: now) } }
        peers[id]!.endpoint = source
        peers[id]!.rxBytes += UInt64(count)
        if peers[id]!.current?.needsRekeyAfterReceiving(now: now) == true, !peers[id]!.timers.sentLastMinuteHandshake {
            peers[id]!.timers.sentLastMinuteHandshake = true
            sendInitiation(id, retry: false, now: now)
        }
        anyAuthenticatedPacketTraversal(id, now: now)
        anyAuthenticatedPacketReceived(id)
        guard plain > 0 else { return }
        dataReceived(id, now: now)
        let packet = UnsafeRawBufferPointer(rebasing: buffer[header..<(header + plain)])
        // Only what the peer may send from: its allowed IPs are the source filter too.
        guard let length = Self.ipLength(of: packet), let sourceAddress = Self.address(of: packet, source: true),
              allowedIPs.lookup(sourceAddress) == id else { return }
        tun.write(UnsafeRawBufferPointer(rebasing: packet[..<length]))
    }

    /// The responder's new session is confirmed by its first use: it becomes current.
    private func confirmNext(_ id: UInt32) {
        var peer = peers[id]!
        if let p = peer.previous { indexTable[p.localIndex] = nil }
        peer.previous = peer.current
        peer.current = peer.next
        peer.next = nil
        peers[id] = peer
        handshakeComplete(id)
    }

    static func address(of packet: UnsafeRawBufferPointer, source: Bool) -> IPAddress? {
        guard let first = packet.first else { return nil }
        switch first >> 4 {
        case 4 where packet.count >= 20: return IPAddress(packet: packet, offset: source ? 12 : 16, isIPv6: false)
        case 6 where packet.count >= 40: return IPAddress(packet: packet, offset: source ? 8 : 24, isIPv6: true)
        default: return nil
        }
    }

    /// The length the IP header claims, if the packet holds it: the rest is padding.
    static func ipLength(of packet: UnsafeRawBufferPointer) -> Int? {
        guard let first = packet.first else { return nil }
        let length: Int
        switch first >> 4 {
        case 4 where packet.count >= 20: length = Int(packet[2]) << 8 | Int(packet[3])
        case 6 where packet.count >= 40: length = 40 + (Int(packet[4]) << 8 | Int(packet[5]))
        default: return nil
        }
        // An IPv4 total length shorter than its own header is malformed (wireguard-go and the kernel drop it).
        return length <= packet.count && length >= 20 ? length : nil
    }
}
