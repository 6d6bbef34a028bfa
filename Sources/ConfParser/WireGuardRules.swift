import Addresses
import Keys
import ServiceURLs

/// The keys `wg setconf` reads, with config.c's rules. Values arrive with all whitespace removed.
extension ParseState {
    mutating func interfaceEntry(key: String, name: String, value: String, line: Int) {
        guard !value.isEmpty else { return error(line, .wireGuard, "\(name) has no value") }
        switch key {
        case "privatekey":
            guard let k = Key(base64: value) else { return keyError(line, "PrivateKey") }
            configuration.interface.privateKey = PrivateKey(k)
        case "listenport":
            if let port = parseDecimal(value, UInt16.self, in: 0...65535) {
                configuration.interface.listenPort = port
            } else {
                error(line, looksLikeServiceOrOverflow(value) ? .stricterThanWireGuard : .wireGuard,
                      "ListenPort `\(value)' is not a port number 0-65535")
            }
        case "fwmark":
            guard let mark = parseFwMark(value) else {
                return error(line, .wireGuard, "FwMark `\(value)' is neither off nor 0-0xffffffff (decimal, or hex with 0x)")
            }
            configuration.interface.fwMark = mark
        case "publickey", "presharedkey", "allowedips", "endpoint", "persistentkeepalive":
            error(line, .wireGuard, "\(name) belongs in a [Peer] section, not [Interface]")
        default:
            error(line, .wireGuard, "unknown key `\(name)' in [Interface]")
        }
    }

    mutating func peerEntry(key: String, name: String, value: String, line: Int) {
        guard !value.isEmpty else { return error(line, .wireGuard, "\(name) has no value") }
        switch key {
        case "publickey":
            guard let k = Key(base64: value) else {
                peer?.publicKeyRefused = true
                return keyError(line, "PublicKey")
            }
            peer?.publicKey = k
        case "presharedkey":
            guard let k = Key(base64: value) else { return keyError(line, "PresharedKey") }
            peer?.presharedKey = k
        case "allowedips":
            for item in value.split(separator: ",", omittingEmptySubsequences: false) {
                guard let network = IPNetwork(String(item)) else {
                    error(line, .wireGuard, "AllowedIPs `\(item)' is not an IP address with an optional /prefix (0-32 for IPv4, 0-128 for IPv6)")
                    continue
                }
                peer?.allowedIPs.append(network)
            }
        case "endpoint":
            switch parseEndpoint(value) {
            case .success(let endpoint): peer?.endpoint = endpoint
            case .failure(let failure): error(line, failure.origin, failure.message)
            }
        case "persistentkeepalive":
            if value.lowercased() == "off" {
                peer?.persistentKeepalive = 0
            } else if let seconds = parseDecimal(value, UInt16.self, in: 0...65535) {
                peer?.persistentKeepalive = seconds
            } else {
                error(line, .wireGuard, "PersistentKeepalive `\(value)' is neither off nor 0-65535 seconds")
            }
        case "privatekey", "listenport", "fwmark":
            error(line, .wireGuard, "\(name) belongs in [Interface], not [Peer]")
        default:
            if WgQuickRule(rawValue: key) != nil {
                error(line, .wireGuard, "\(name) belongs in [Interface], not [Peer] (wg-quick reads it only there)")
            } else {
                error(line, .wireGuard, "unknown key `\(name)' in [Peer]")
            }
        }
    }

    private mutating func keyError(_ line: Int, _ name: String) {
        error(line, .wireGuard, "\(name) is not a WireGuard key (44 characters of base64 ending in `=', as `wg genkey' prints)")
    }

    /// getaddrinfo, which wg uses for ports, also takes service names, a leading `+`, and numbers
    /// above 65535 (truncated): wg accepts those and wg-ice does not.
    private func looksLikeServiceOrOverflow(_ value: String) -> Bool {
        let digits = value.hasPrefix("+") ? value.dropFirst() : Substring(value)
        if !digits.isEmpty && digits.allSatisfy({ $0.isASCII && $0.isNumber }) { return true }
        return value.first?.isLetter == true && value.allSatisfy { ($0.isASCII && ($0.isLetter || $0.isNumber)) || $0 == "-" }
    }

    /// config.c's parse_fwmark: `off`, decimal, or `0x` hex (lowercase x), at most 32 bits.
    private func parseFwMark(_ value: String) -> UInt32? {
        if value.lowercased() == "off" { return 0 }
        if value.hasPrefix("0x") && value.count > 2 {
            let hex = value.dropFirst(2)
            guard hex.allSatisfy(\.isHexDigit), hex.allSatisfy(\.isASCII) else { return nil }
            let significant = hex.drop(while: { $0 == "0" })
            guard significant.count <= 8 else { return nil }
            return significant.isEmpty ? 0 : UInt32(significant, radix: 16)
        }
        return parseDecimal(value, UInt32.self, in: 0...UInt32.max)
    }

    struct EndpointError: Error {
        var origin: RuleOrigin
        var message: String
    }

    /// config.c's parse_endpoint split (`[v6]:port`, else at the last `:`), with a literal port.
    private func parseEndpoint(_ value: String) -> Result<Endpoint, EndpointError> {
        let fail = { (origin: RuleOrigin, why: String) in
            Result<Endpoint, EndpointError>.failure(EndpointError(origin: origin, message: "Endpoint `\(value)' \(why)"))
        }
        guard let parts = splitHostPort(value), let portText = parts.port else {
            return fail(.wireGuard, "is not HOST:PORT or [IPv6]:PORT")
        }
        guard let host = Host(parts.host) else { return fail(.wireGuard, "has no valid host (an IP address or DNS name)") }
        if host.isIPv6Literal && !parts.bracketed {
            return fail(.stricterThanWireGuard, "has an IPv6 address without brackets; write [\(parts.host)]:\(portText)")
        }
        if parts.bracketed && !host.isIPv6Literal {
            return fail(.stricterThanWireGuard, "has brackets around something that is not an IPv6 address")
        }
        guard let port = parseDecimal(portText, UInt16.self, in: 0...65535) else {
            return fail(looksLikeServiceOrOverflow(String(portText)) ? .stricterThanWireGuard : .wireGuard,
                        "has no port number 0-65535 after the last `:'")
        }
        return .success(Endpoint(host: host, port: port))
    }
}
