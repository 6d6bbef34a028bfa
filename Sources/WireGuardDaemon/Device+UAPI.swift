import Keys
import Glibc

/// The cross-platform configuration protocol (wireguard.com/xplatform), with wireguard-go's grammar and errnos:
/// a `set` applies line by line and stops at the first error, which is answered as a negative errno.
extension Device {
    /// The whole `get` answer but its status line, at once: for the fuzzer and tests (UAPIStream writes it in turns).
    func uapiGet() -> String {
        peers.ids.reduce(uapiGetHeader()) { $0 + uapiGetPeer($1) }
    }

    func uapiGetHeader() -> String {
        var out = ""
        if let identity { out += "private_key=\(Key(bytes: identity.privateKey.array)!.hex)\n" }
        if sockets.port != 0 { out += "listen_port=\(sockets.port)\n" }
        if fwmark != 0 { out += "fwmark=\(fwmark)\n" }
        return out
    }

    func uapiGetPeer(_ id: UInt32) -> String {
        let peer = peers[id]!
        var out = "public_key=\(Key(bytes: peer.remote.publicKey)!.hex)\n"
        out += "preshared_key=\(Key(bytes: peer.presharedKey.array)!.hex)\n"
        out += "protocol_version=1\n"
        if let endpoint = peer.endpoint { out += "endpoint=\(endpoint.description)\n" }
        out += "last_handshake_time_sec=\(peer.lastHandshake / Clock.second)\n"
        out += "last_handshake_time_nsec=\(peer.lastHandshake % Clock.second)\n"
        out += "tx_bytes=\(peer.txBytes)\nrx_bytes=\(peer.rxBytes)\n"
        out += "persistent_keepalive_interval=\(peer.persistentKeepalive)\n"
        for prefix in allowedIPs.entries(peer: id) { out += "allowed_ip=\(prefix.description)\n" }
        return out
    }

    /// Applies the lines of one `set=1` request (without the blank line ending it) at once; returns 0 or an errno.
    func uapiSet(_ lines: [Substring], now: UInt64) -> Int32 {
        var session = UAPISetState()
        for line in lines {
            let code = uapiSetLine(line, &session, now: now)
            if code != 0 { return code }
        }
        uapiSetEnd(&session, now: now)
        return 0
    }

    /// Applies one line of a `set`; returns 0 or an errno.
    func uapiSetLine(_ line: Substring, _ session: inout UAPISetState, now: UInt64) -> Int32 {
        guard let eq = line.firstIndex(of: "=") else { return EPROTO }
        let key = line[..<eq], value = String(line[line.index(after: eq)...])
        guard key == "public_key" else {
            return session.peer == nil ? setDevice(String(key), value) : session.setPeer(self, String(key), value)
        }
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
        return 0
    }

    /// The `set` ended: what its last peer was given takes effect.
    func uapiSetEnd(_ session: inout UAPISetState, now: UInt64) {
        session.finishPeer(self, now: now)
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
struct UAPISetState {
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
