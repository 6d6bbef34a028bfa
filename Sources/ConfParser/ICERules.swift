import Keys
import ServiceURLs

/// The wg-ice settings, identical whether they come from `[ICE]` or a `#[ICE]` block.
extension ParseState {
    static let iceKeys = ["signaling", "urls", "username", "password", "candidatetypes", "networktypes",
                          "interfaces", "portrange", "peers", "proxy", "portmapping", "checkinterval", "failedtimeout", "handshaketimeout", "user",
                          "loglevel"]
    /// Keys of earlier versions that libnice 0.1.21 gives no way to apply: refused by name, with the reason.
    static let unsupportedICEKeys = [
        "keepaliveinterval": "KeepaliveInterval is not supported: libnice sends its RFC 7675 consent checks every 4-6 s and has no setting for that period; remove the line",
        "disconnectedtimeout": "DisconnectedTimeout is not supported: libnice declares consent lost after 10 s without an answer and has no setting for that time; remove the line",
    ]
    /// `ICEServer` (module ICE) refuses stuns: too.
    static let stunsRefusal = "stuns: (STUN over TLS) is not supported: libnice asks its STUN server over UDP only, "
        + "and the address STUN over TLS reports is that of a TCP connection, which UDP hole punching cannot use; write stun:HOST[:PORT]"
    private static let listKeys: Set<String> = ["signaling", "urls", "candidatetypes", "networktypes", "interfaces", "peers"]
    static let portMappingValues = "off, or a list of upnp, nat-pmp, pcp"

    mutating func iceEntry(name: String, value: String, line: Int) {
        let key = name.lowercased()
        guard isKeyName(name) else { return error(line, .wgIce, Self.notAKeyName) }
        if let reason = Self.unsupportedICEKeys[key] { return error(line, .wgIce, reason) }
        guard Self.iceKeys.contains(key) else {
            return error(line, .wgIce, "unknown key `\(name)' in [ICE] (known: Signaling, URLs, Username, Password, CandidateTypes, NetworkTypes, Interfaces, PortRange, Peers, Proxy, PortMapping, CheckInterval, FailedTimeout, HandshakeTimeout, User, LogLevel)")
        }
        if key == "signaling" { hasSignalingLine = true }
        guard !value.isEmpty else { return error(line, .wgIce, "\(name) has no value") }
        if !Self.listKeys.contains(key) {
            if let first = iceScalarLines[key] {
                return error(line, .wgIce, "\(name) is already set on line \(first); it takes one value")
            }
            iceScalarLines[key] = line
        }
        let items = value.split(separator: ",", omittingEmptySubsequences: false)
            .map { String($0).trimmingSpaces() }
        if Self.listKeys.contains(key), items.contains(where: \.isEmpty) {
            return error(line, .wgIce, "\(name) has an empty item in `\(value)'")
        }
        // Taken out rather than copied: a copy would share its lists with `configuration.ice`, so every
        // append would copy the whole list, and a file repeating a list key would take quadratic time.
        var ice = configuration.ice
        configuration.ice = ICESettings()
        defer { configuration.ice = ice }
        switch key {
        case "signaling":
            for item in items {
                switch SignalingURL.parse(item) {
                case .success(let url): ice.signaling.append(url)
                case .failure(let failure): error(line, .wgIce, "Signaling \(failure.message)")
                }
            }
        case "urls":
            for item in items {
                switch ICEServerURL.parse(item) {
                case .success(let url):
                    // What ICEConfiguration refuses, refused here with a line: `check` must not pass a file `up` rejects.
                    // (turns: is carried by the session's own TLS relay, module TURNTLS.)
                    if url.scheme == .stuns {
                        error(line, .wgIce, "URLs `\(item)': \(Self.stunsRefusal)")
                        continue
                    }
                    if !url.isTURN, hasSTUNServer {
                        error(line, .wgIce, "URLs `\(item)': a second stun: server; libnice uses one")
                        continue
                    }
                    ice.servers.append(url)
                    if !url.isTURN { hasSTUNServer = true }
                    if url.isTURN && firstTURNLine == nil { firstTURNLine = line }
                case .failure(let failure): error(line, .wgIce, "URLs \(failure.message)")
                }
            }
        case "username":
            guard value.allSatisfy({ !$0.isWhitespace }) else { return error(line, .wgIce, "Username must not contain spaces") }
            ice.username = value
        case "password":
            ice.password = value
        case "candidatetypes":
            candidateTypesLine = candidateTypesLine ?? line
            ice.candidateTypes = parseSet(items, key: key, name: name, line: line, into: ice.candidateTypes)
        case "networktypes":
            ice.networkTypes = parseSet(items, key: key, name: name, line: line, into: ice.networkTypes)
        case "interfaces":
            for item in items {
                let excludes = item.hasPrefix("!")
                let glob = excludes ? String(item.dropFirst()) : item
                guard !glob.isEmpty, glob.utf8.count <= 64, glob.allSatisfy({ $0.isASCII && !$0.isWhitespace && $0 != "/" }) else {
                    error(line, .wgIce, "Interfaces `\(item)' is not an interface name pattern (a glob, `!' to exclude)")
                    continue
                }
                ice.interfaces.append(InterfacePattern(glob: glob, excludes: excludes))
            }
        case "portrange":
            let bounds = value.split(separator: "-", omittingEmptySubsequences: false).map { String($0).trimmingSpaces() }
            guard bounds.count == 2, let lower = parseDecimal(bounds[0], UInt16.self, in: 1...65535),
                  let upper = parseDecimal(bounds[1], UInt16.self, in: 1...65535), lower <= upper else {
                return error(line, .wgIce, "PortRange `\(value)' is not LOW-HIGH with 1 <= LOW <= HIGH <= 65535")
            }
            ice.portRange = PortRange(lower: lower, upper: upper)
        case "peers":
            parsePeers(items, value: value, line: line, into: &ice)
        case "proxy":
            guard let mode = ProxyMode(rawValue: value.lowercased()) else {
                return error(line, .wgIce, "Proxy `\(value)' is not auto, nftables or userspace")
            }
            ice.proxy = mode
        case "portmapping":
            if items.count == 1, items[0].lowercased() == "off" { ice.portMapping = []; break }
            var methods: Set<MappingProtocol> = []
            for item in items {
                guard let method = MappingProtocol(rawValue: item.lowercased()) else {
                    if item.lowercased() == "off" { return error(line, .wgIce, "PortMapping `off' must stand alone") }
                    return error(line, .wgIce, "PortMapping `\(item)' is not \(Self.portMappingValues)")
                }
                methods.insert(method)
            }
            ice.portMapping = methods
        case "checkinterval", "failedtimeout", "handshaketimeout":
            guard let duration = parseDuration(value) else {
                return error(line, .wgIce, "\(name) `\(value)' is not a duration above zero (like 200ms, 5s, 2m, 1h, 1m30s)")
            }
            switch key {
            case "checkinterval":
                guard ICETiming.checkInterval.contains(duration) else {
                    return error(line, .wgIce, "CheckInterval `\(value)' is outside \(ICETiming.describe(ICETiming.checkInterval)) (the pacing of ICE checks, RFC 8445 Ta)")
                }
                ice.checkInterval = duration
            case "failedtimeout":
                guard ICETiming.failedTimeout.contains(duration) else {
                    return error(line, .wgIce, "FailedTimeout `\(value)' is outside \(ICETiming.describe(ICETiming.failedTimeout)) (ICE must not fail sooner than 39.5 s after checks start, RFC 8863)")
                }
                ice.failedTimeout = duration
            default: ice.handshakeTimeout = duration
            }
        case "user":
            guard isAccountName(value) else {
                return error(line, .wgIce, "User `\(value)' is not an account name or numeric uid")
            }
            ice.user = value
        default: // loglevel
            guard let level = LogLevel(rawValue: value.lowercased()) else {
                return error(line, .wgIce, "LogLevel `\(value)' is not one of \(LogLevel.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            ice.logLevel = level
        }
    }

    /// The first line of a set-valued key replaces the default; later lines add to it.
    private mutating func parseSet<T: RawRepresentable & CaseIterable & Hashable>(
        _ items: [String], key: String, name: String, line: Int, into current: Set<T>
    ) -> Set<T> where T.RawValue == String {
        var result = iceListSeen.contains(key) ? current : []
        iceListSeen.insert(key)
        for item in items {
            guard let value = T(rawValue: item.lowercased()) else {
                error(line, .wgIce, "\(name) `\(item)' is not one of \(T.allCases.map(\.rawValue).joined(separator: ", "))")
                continue
            }
            result.insert(value)
        }
        return result
    }

    private mutating func parsePeers(_ items: [String], value: String, line: Int, into ice: inout ICESettings) {
        let word = value.lowercased()
        if word == "auto" || word == "all" {
            if let first = peerSelectionLine {
                return error(line, .wgIce, "Peers is already set on line \(first); `\(value)' must stand alone")
            }
            peerSelectionLine = line
            ice.peers = word == "auto" ? .auto : .all
            return
        }
        if case .keys = ice.peers {} else if let first = peerSelectionLine {
            return error(line, .wgIce, "Peers is already `\(ice.peers == .all ? "all" : "auto")' on line \(first); a key list cannot be added")
        }
        peerSelectionLine = peerSelectionLine ?? line
        var keys: [Key] = []
        if case .keys(let existing) = ice.peers {
            keys = existing
            // `keys` becomes the list's only owner, so appending to it does not copy it.
            ice.peers = .keys([])
        }
        for item in items {
            guard let key = Key(base64: item) else {
                error(line, .wgIce, "Peers `\(item)' is not auto, all, or a peer's public key")
                continue
            }
            keys.append(key)
        }
        ice.peers = .keys(keys)
    }

    /// What useradd(8) accepts, or a numeric uid.
    private func isAccountName(_ value: String) -> Bool {
        if value.allSatisfy({ $0.isASCII && $0.isNumber }) { return value.count <= 10 }
        guard value.utf8.count <= 32, let first = value.unicodeScalars.first,
              first == "_" || ("a"..."z").contains(first) || ("A"..."Z").contains(first) else { return false }
        let body = value.hasSuffix("$") ? value.dropLast() : Substring(value)
        return body.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "_.-".contains($0)) }
    }
}

extension String {
    func trimmingSpaces() -> String {
        let bytes = ArraySlice(utf8).trimmed()
        return String(decoding: bytes, as: UTF8.self)
    }
}
