import Glibc

/// The UAPI text grammar, separate from the socket so it can be tested byte for byte.
enum UAPICodec {
    struct Request: Equatable {
        var text: String
        /// What to blame if the daemon refuses this request.
        var culprit: String
    }

    static func setRequests(_ change: DeviceChange) -> [Request] {
        var requests = [Request]()
        if let port = change.listenPort {
            requests.append(Request(text: "set=1\nlisten_port=\(port)\n\n", culprit: "listen_port=\(port)"))
        }
        if let mark = change.fwmark {
            requests.append(Request(text: "set=1\nfwmark=\(mark)\n\n", culprit: "fwmark=\(mark)"))
        }
        if let key = change.privateKey {
            requests.append(Request(text: "set=1\nprivate_key=\(key.hex)\n\n", culprit: "private_key=(hidden)"))
        }
        guard change.replacePeers || !change.peers.isEmpty else { return requests }
        var text = "set=1\n"
        if change.replacePeers { text += "replace_peers=true\n" }
        for peer in change.peers { appendPeer(peer, to: &text) }
        text += "\n"
        let culprit = change.peers.count == 1 ? "public_key=\(change.peers[0].publicKey.hex)"
            : "the request's \(change.peers.count) peers"
        requests.append(Request(text: text, culprit: culprit))
        return requests
    }

    private static func appendPeer(_ peer: PeerChange, to text: inout String) {
        text += "public_key=\(peer.publicKey.hex)\n"
        // wireguard-go acts on these at once, so they must directly follow public_key.
        if peer.remove { text += "remove=true\n"; return }
        if peer.updateOnly { text += "update_only=true\n" }
        if let psk = peer.presharedKey { text += "preshared_key=\(psk.hex)\n" }
        if let endpoint = peer.endpoint { text += "endpoint=\(endpoint)\n" }
        if let keepalive = peer.persistentKeepalive { text += "persistent_keepalive_interval=\(keepalive)\n" }
        if peer.replaceAllowedIPs { text += "replace_allowed_ips=true\n" }
        for ip in peer.allowedIPs { text += "allowed_ip=\(ip)\n" }
    }

    /// The errno of a reply, as a positive number: wireguard-go sends it negated, other daemons do not.
    static func parseErrno(_ reply: [UInt8], interface: String) throws(WireGuardError) -> Int32 {
        var code: Int32?
        for line in reply.split(separator: 10) where line.starts(with: "errno=".utf8) {
            code = Int32(String(decoding: line.dropFirst(6), as: UTF8.self))
        }
        guard let code else {
            throw .protocolError(interface: interface, "UAPI reply has no valid errno= line")
        }
        return abs(code)
    }

    static func parseGet(_ reply: [UInt8], interface: String) throws(WireGuardError) -> Device {
        var device = Device(name: interface)
        var peer: Peer?
        var handshakeSeconds: Int64 = 0, handshakeNanos: Int64 = 0
        func finishPeer() {
            guard var p = peer else { return }
            if handshakeSeconds != 0 || handshakeNanos != 0 {
                p.lastHandshake = Timestamp(seconds: handshakeSeconds, nanoseconds: handshakeNanos)
            }
            device.peers.append(p)
            peer = nil
            handshakeSeconds = 0
            handshakeNanos = 0
        }
        for rawLine in reply.split(separator: 10) {
            let line = String(decoding: rawLine, as: UTF8.self)
            guard let eq = line.firstIndex(of: "=") else {
                throw .protocolError(interface: interface, "UAPI reply line without '=': \(line)")
            }
            let key = line[..<eq], value = line[line.index(after: eq)...]
            func bad() -> WireGuardError {
                .protocolError(interface: interface, "UAPI reply has an invalid \(key) value")
            }
            switch key {
            case "errno":
                guard let code = Int32(value) else { throw bad() }
                if code != 0 { throw .rejected(interface: interface, errno: abs(code), rejected: "get=1") }
            case "public_key":
                finishPeer()
                guard let k = Key(hex: value) else { throw bad() }
                peer = Peer(publicKey: k)
            case _ where peer != nil:
                switch key {
                case "preshared_key":
                    guard let k = Key(hex: value) else { throw bad() }
                    peer!.presharedKey = k.isZero ? nil : k
                case "endpoint":
                    guard let e = Endpoint(value) else { throw bad() }
                    peer!.endpoint = e
                case "persistent_keepalive_interval":
                    guard let v = UInt16(value) else { throw bad() }
                    peer!.persistentKeepalive = v
                case "allowed_ip":
                    guard let ip = AllowedIP(value) else { throw bad() }
                    peer!.allowedIPs.append(ip)
                case "last_handshake_time_sec":
                    guard let v = Int64(value) else { throw bad() }
                    handshakeSeconds = v
                case "last_handshake_time_nsec":
                    guard let v = Int64(value) else { throw bad() }
                    handshakeNanos = v
                case "rx_bytes":
                    guard let v = UInt64(value) else { throw bad() }
                    peer!.rxBytes = v
                case "tx_bytes":
                    guard let v = UInt64(value) else { throw bad() }
                    peer!.txBytes = v
                default: break  // protocol_version and keys newer than this client
                }
            case "private_key":
                guard let k = Key(hex: value) else { throw bad() }
                device.privateKey = k.isZero ? nil : k
                device.publicKey = k.isZero ? nil : k.publicKey
            case "listen_port":
                guard let v = UInt16(value) else { throw bad() }
                device.listenPort = v
            case "fwmark":
                guard let v = UInt32(value) else { throw bad() }
                device.fwmark = v
            default: break
            }
        }
        finishPeer()
        return device
    }
}
