import Keys

extension Device {
    /// The device in `wg showconf` format, byte for byte (wireguard-tools' showconf.c), so it can be compared
    /// with wg(8) or written to a config file. It contains the private key: never log it.
    public var showconf: String {
        var out = "[Interface]\n"
        if listenPort != 0 { out += "ListenPort = \(listenPort)\n" }
        if fwmark != 0 { out += "FwMark = 0x\(String(fwmark, radix: 16))\n" }
        if let privateKey { out += "PrivateKey = \(privateKey.secret.base64)\n" }
        out += "\n"
        for (index, peer) in peers.enumerated() {
            if index > 0 { out += "\n" }
            out += "[Peer]\nPublicKey = \(peer.publicKey.base64)\n"
            if let psk = peer.presharedKey { out += "PresharedKey = \(psk.base64)\n" }
            if !peer.allowedIPs.isEmpty { out += "AllowedIPs = \(peer.allowedIPs.map(\.description).joined(separator: ", "))\n" }
            if let endpoint = peer.endpoint { out += "Endpoint = \(endpoint)\n" }
            if peer.persistentKeepalive != 0 { out += "PersistentKeepalive = \(peer.persistentKeepalive)\n" }
        }
        return out
    }
}
