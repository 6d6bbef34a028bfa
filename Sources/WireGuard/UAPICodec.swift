import Keys
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
            requests.append(Request(text: "set=1\nprivate_key=\(key.secret.hex)\n\n", culprit: "private_key=(hidden)"))
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

    /// Parses a `get=1` reply. It works on bytes: a thousand-peer reply has tens of thousands of lines.
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
        for line in reply.split(separator: 10) {
            guard let eq = line.firstIndex(of: UInt8(ascii: "=")) else {
                throw .protocolError(interface: interface, "UAPI reply line without '=': \(String(decoding: line, as: UTF8.self))")
            }
            // Keys are at most 31 bytes, which Swift stores inline: no allocation per line.
            let key = String(decoding: line[..<eq], as: UTF8.self), value = line[(eq + 1)...]
            func bad() -> WireGuardError {
                .protocolError(interface: interface, "UAPI reply has an invalid \(key) value")
            }
            func number<T: FixedWidthInteger>(_: T.Type) throws(WireGuardError) -> T {
                guard let v = parseDecimal(value, as: T.self) else { throw bad() }
                return v
            }
            switch key {
            case "errno":
                let code = try number(Int32.self)
                if code != 0 { throw .rejected(interface: interface, errno: abs(code), rejected: "get=1") }
            case "public_key":
                finishPeer()
                guard let k = Key(hexDigits: value) else { throw bad() }
                peer = Peer(publicKey: k)
            case _ where peer != nil:
                switch key {
                case "preshared_key":
                    guard let k = Key(hexDigits: value) else { throw bad() }
                    peer!.presharedKey = k.isZero ? nil : k
                case "endpoint":
                    guard let e = Endpoint(String(decoding: value, as: UTF8.self)) else { throw bad() }
                    peer!.endpoint = e
                case "persistent_keepalive_interval": peer!.persistentKeepalive = try number(UInt16.self)
                case "allowed_ip":
                    guard let ip = AllowedIP(utf8: value) else { throw bad() }
                    peer!.allowedIPs.append(ip)
                case "last_handshake_time_sec": handshakeSeconds = try number(Int64.self)
                case "last_handshake_time_nsec": handshakeNanos = try number(Int64.self)
                case "rx_bytes": peer!.rxBytes = try number(UInt64.self)
                case "tx_bytes": peer!.txBytes = try number(UInt64.self)
                default: break  // protocol_version and keys newer than this client
                }
            case "private_key":
                guard let k = Key(hexDigits: value) else { throw bad() }
                device.privateKey = k.isZero ? nil : PrivateKey(k)
                device.publicKey = device.privateKey?.publicKey
            case "listen_port": device.listenPort = try number(UInt16.self)
            case "fwmark": device.fwmark = try number(UInt32.self)
            default: break
            }
        }
        finishPeer()
        return device
    }
}

/// An optionally negative decimal number, as UAPI writes them; nil on anything else or overflow.
func parseDecimal<T: FixedWidthInteger>(_ digits: some Collection<UInt8>, as: T.Type) -> T? {
    var rest = digits[...]
    let negative = rest.first == UInt8(ascii: "-")
    if negative { rest = rest.dropFirst() }
    guard !rest.isEmpty, negative ? T.isSigned : true else { return nil }
    var value: T = 0
    for c in rest {
        guard c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") else { return nil }
        let (times10, o1) = value.multipliedReportingOverflow(by: 10)
        let (sum, o2) = negative ? times10.subtractingReportingOverflow(T(c - UInt8(ascii: "0")))
            : times10.addingReportingOverflow(T(c - UInt8(ascii: "0")))
        guard !o1, !o2 else { return nil }
        value = sum
    }
    return value
}
