import Keys
import Glibc

/// The cross-platform configuration protocol (wireguard.com/xplatform), with wireguard-go's grammar and errnos:
/// a `set` applies line by line and stops at the first error, which is answered as a negative errno.
extension Device {
    func uapiGet() -> String {
        var out = ""
        if let identity { out += "private_key=\(Key(bytes: identity.privateKey.array)!.hex)\n" }
        if sockets.port != 0 { out += "listen_port=\(sockets.port)\n" }
        if fwmark != 0 { out += "fwmark=\(fwmark)\n" }
        for id in peers.ids {
            let peer = peers[id]!
            out += "public_key=\(Key(bytes: peer.remote.publicKey)!.hex)\n"
            out += "preshared_key=\(Key(bytes: peer.presharedKey.array)!.hex)\n"
            out += "protocol_version=1\n"
            if let endpoint = peer.endpoint { out += "endpoint=\(endpoint.description)\n" }
            out += "last_handshake_time_sec=\(peer.lastHandshake / Clock.second)\n"
            out += "last_handshake_time_nsec=\(peer.lastHandshake % Clock.second)\n"
            out += "tx_bytes=\(peer.txBytes)\nrx_bytes=\(peer.rxBytes)\n"
            out += "persistent_keepalive_interval=\(peer.persistentKeepalive)\n"
            for prefix in allowedIPs.entries(peer: id) { out += "allowed_ip=\(prefix.description)\n" }
        }
        return out
    }

    /// Applies the lines of one `set=1` request (without the blank line ending it); returns 0 or an errno.
    func uapiSet(_ lines: [Substring], now: UInt64) -> Int32 {
        var session = SetSession()
        for line in lines {
            guard let eq = line.firstIndex(of: "=") else { return EPROTO }
            let key = line[..<eq], value = String(line[line.index(after: eq)...])
            if key == "public_key" {
                session.finishPeer(self, now: now)
                guard let publicKey = Key(hex: value)?.bytes else { return EINVAL }
                if publicKey == identity?.publicKey {
                    session.peer = .dummy
                } else if let id = peerID(publicKey: publicKey) {
                    session.peer = .existing(id)
                } else if let id = addPeer(publicKey: publicKey) {
                    session.peer = .created(id)
                } else {
                    return EINVAL
                }
                continue
            }
            let code = session.peer == nil ? setDevice(String(key), value) : session.setPeer(self, String(key), value)
            if code != 0 { return code }
        }
        session.finishPeer(self, now: now)
        return 0
    }

    private func setDevice(_ key: String, _ value: String) -> Int32 {
        switch key {
        case "private_key":
            guard let k = Secret(hex: value) else { return EINVAL }
            setPrivateKey(k)
        case "listen_port":
            guard let port = UInt16(decimal: value) else { return EINVAL }
            if isDown {
                sockets.keep(port: port)
            } else if port != sockets.port || port == 0, sockets.bind(port: port) != 0 {
                return EADDRINUSE
            }
        case "fwmark":
            guard let mark = UInt32(decimal: value) else { return EINVAL }
            if sockets.setMark(mark) != 0 { return EADDRINUSE }
            fwmark = mark
        case "replace_peers":
            guard value == "true" else { return EINVAL }
            removeAllPeers()
        default:
            return EINVAL
        }
        return 0
    }
}

/// The state of one `set` request: which peer the lines are about.
private struct SetSession {
    enum Target: Equatable { case dummy, existing(UInt32), created(UInt32) }
    var peer: Target?
    /// Persistent keepalive was just turned on: the peer gets a keepalive at once (wireguard-go's pkaOn).
    var keepaliveTurnedOn = false

    var id: UInt32? {
        switch peer {
        case .existing(let id), .created(let id): id
        default: nil
        }
    }

    mutating func setPeer<T, B>(_ device: Device<T, B>, _ key: String, _ value: String) -> Int32 {
        switch key {
        case "update_only":
            guard value == "true" else { return EINVAL }
            if case .created(let id) = peer {
                device.removePeer(id)
                peer = .dummy
            }
        case "remove":
            guard value == "true" else { return EINVAL }
            if let id { device.removePeer(id) }
            peer = .dummy
        case "preshared_key":
            guard let k = Secret(hex: value) else { return EINVAL }
            if let id { device.peers[id]!.presharedKey = k }
        case "endpoint":
            guard !value.contains("+"), let endpoint = Endpoint(value) else { return EINVAL }
            if let id { device.peers[id]!.endpoint = endpoint }
        case "persistent_keepalive_interval":
            guard let seconds = UInt16(decimal: value) else { return EINVAL }
            if let id {
                keepaliveTurnedOn = device.peers[id]!.persistentKeepalive == 0 && seconds != 0
                device.peers[id]!.persistentKeepalive = seconds
            }
        case "replace_allowed_ips":
            guard value == "true" else { return EINVAL }
            if let id { device.allowedIPs.removeAll(peer: id) }
        case "allowed_ip":
            let remove = value.hasPrefix("-")
            guard let network = AllowedIPs.network(remove ? String(value.dropFirst()) : value) else { return EINVAL }
            if let id {
                if remove { device.allowedIPs.remove(network, peer: id) } else { device.allowedIPs.insert(network, peer: id) }
            }
        case "protocol_version":
            guard value == "1" else { return EINVAL }
        default:
            return EINVAL
        }
        return 0
    }

    mutating func finishPeer<T, B>(_ device: Device<T, B>, now: UInt64) {
        defer { keepaliveTurnedOn = false }
        guard let id, device.peers[id] != nil else { return }
        if keepaliveTurnedOn { device.sendKeepalive(id, now: now) }
        device.sendStaged(id, now: now)
    }
}

extension FixedWidthInteger where Self: UnsignedInteger {
    /// Digits only, as wireguard-go's strconv.ParseUint: Swift's own parser also takes a leading `+`.
    init?(decimal text: String) {
        guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        self.init(text)
    }
}
