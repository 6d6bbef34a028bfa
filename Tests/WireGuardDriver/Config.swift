import Keys
import WireGuard

/// The subset of wg(8)'s config format that `showconf` prints, enough for the benchmark's input.
func parseConfig(_ text: String, name: String) throws -> Device {
    struct ConfigError: Error, CustomStringConvertible {
        var line: Int, message: String
        var description: String { "line \(line): \(message)" }
    }
    var device = Device(name: name)
    var inPeer = false
    for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
        let line = trimmed(raw)
        if line.isEmpty || line.hasPrefix("#") { continue }
        if line == "[Interface]" { inPeer = false; continue }
        if line == "[Peer]" { inPeer = true; device.peers.append(Peer(publicKey: Key(bytes: [UInt8](repeating: 0, count: Key.length))!)); continue }
        let parts = line.split(separator: "=", maxSplits: 1).map(trimmed)
        guard parts.count == 2 else { throw ConfigError(line: index + 1, message: "expected Key = Value") }
        let (key, value) = (parts[0].lowercased(), parts[1])
        func bad() -> ConfigError { ConfigError(line: index + 1, message: "invalid \(parts[0]): \(value)") }
        if !inPeer {
            switch key {
            case "privatekey": guard let k = PrivateKey(base64: value) else { throw bad() }; device.privateKey = k
            case "listenport": guard let p = UInt16(value) else { throw bad() }; device.listenPort = p
            case "fwmark": guard let m = value.hasPrefix("0x") ? UInt32(value.dropFirst(2), radix: 16) : UInt32(value) else { throw bad() }
                device.fwmark = m
            default: throw bad()
            }
        } else {
            let i = device.peers.count - 1
            switch key {
            case "publickey": guard let k = Key(base64: value) else { throw bad() }; device.peers[i].publicKey = k
            case "presharedkey": guard let k = Key(base64: value) else { throw bad() }; device.peers[i].presharedKey = k
            case "endpoint": guard let e = Endpoint(value) else { throw bad() }; device.peers[i].endpoint = e
            case "persistentkeepalive": guard let v = UInt16(value) else { throw bad() }; device.peers[i].persistentKeepalive = v
            case "allowedips":
                for item in value.split(separator: ",") {
                    guard let ip = AllowedIP(trimmed(item)) else { throw bad() }
                    device.peers[i].allowedIPs.append(ip)
                }
            default: throw bad()
            }
        }
    }
    return device
}

/// Foundation's trimmingCharacters bridges through NSString, which costs more than the whole UAPI exchange.
private func trimmed(_ text: Substring) -> String {
    let utf8 = text.utf8
    guard let first = utf8.firstIndex(where: { $0 != 32 && $0 != 9 }),
          let last = utf8.lastIndex(where: { $0 != 32 && $0 != 9 }) else { return "" }
    return String(text[first...last])
}

func generateConfig(peers: Int, ipsPerPeer: Int) -> Device {
    Device(name: "bench", privateKey: PrivateKey.generate(), listenPort: 0, peers: (0..<peers).map { i in
        Peer(publicKey: PrivateKey.generate().publicKey, endpoint: Endpoint("198.51.100.\(i % 250 + 1):\(10000 + i)"),
             persistentKeepalive: 25,
             allowedIPs: (0..<ipsPerPeer).map { j in AllowedIP(address: [10, UInt8(i / 250), UInt8(i % 250), UInt8(j)], cidr: 32)! })
    })
}
