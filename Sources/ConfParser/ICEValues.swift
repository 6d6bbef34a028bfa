import Addresses
import Keys

/// A STUN or TURN server URI (RFC 7064, RFC 7065).
public struct ICEServerURL: Sendable, Hashable, CustomStringConvertible {
    public enum Scheme: String, Sendable, CaseIterable { case stun, stuns, turn, turns }
    public enum Transport: String, Sendable { case udp, tcp }

    public let scheme: Scheme
    public let host: Host
    /// 3478 for stun/turn, 5349 for stuns/turns when the URI has none.
    public let port: UInt16
    /// udp for stun/turn, tcp for stuns/turns (TLS) unless `?transport=` says otherwise.
    public let transport: Transport

    public var isTURN: Bool { scheme == .turn || scheme == .turns }
    public var isSecure: Bool { scheme == .stuns || scheme == .turns }

    public var description: String {
        var text = "\(scheme.rawValue):\(host.bracketed):\(port)"
        if isTURN { text += "?transport=\(transport.rawValue)" }
        return text
    }

    /// Parses the URI, or returns why it is not one.
    public static func parse(_ text: String) -> Result<ICEServerURL, ValueError> {
        guard let colon = text.firstIndex(of: ":"),
              let scheme = Scheme(rawValue: text[..<colon].lowercased()) else {
            return .failure(ValueError("`\(text)' is not a STUN/TURN URI (stun:, stuns:, turn:, turns:)"))
        }
        var rest = text[text.index(after: colon)...]
        if rest.hasPrefix("//") {
            return .failure(ValueError("`\(text)': STUN/TURN URIs have no `//' (write \(scheme.rawValue):HOST[:PORT])"))
        }
        var transport: Transport = scheme == .stuns || scheme == .turns ? .tcp : .udp
        if let question = rest.firstIndex(of: "?") {
            let query = rest[rest.index(after: question)...]
            rest = rest[..<question]
            guard scheme == .turn || scheme == .turns else {
                return .failure(ValueError("`\(text)': only turn: and turns: URIs take a query"))
            }
            guard query.lowercased().hasPrefix("transport="),
                  let t = Transport(rawValue: query.dropFirst("transport=".count).lowercased()) else {
                return .failure(ValueError("`\(text)': the only query is ?transport=udp or ?transport=tcp"))
            }
            if scheme == .turns && t == .udp {
                return .failure(ValueError("`\(text)': TURN over DTLS (turns: with transport=udp) is not supported"))
            }
            transport = t
        }
        return parseAuthority(rest, of: text, defaultPort: scheme == .stuns || scheme == .turns ? 5349 : 3478).map {
            ICEServerURL(scheme: scheme, host: $0.host, port: $0.port, transport: transport)
        }
    }
}

/// Where peers meet to exchange ICE candidates, kept as written: the Signaling module dials this host and
/// port, asks for this path and binds `authority` into its auth proof (docs/PROTOCOL.md, "Handshake").
public struct SignalingURL: Sendable, Hashable, CustomStringConvertible {
    public enum Scheme: String, Sendable, CaseIterable { case ws, wss, grpc, grpcs, k8s }

    public let scheme: Scheme
    /// Absent for `k8s:` URLs, whose meaning the Kubernetes backend resolves (pod, kubeconfig, server).
    public let host: Host?
    /// The port dialled: as written, else 80 (ws, grpc) or 443 (wss, grpcs).
    public let port: UInt16?
    /// Whether the URL names its port; only then is it part of `authority`.
    public let portIsWritten: Bool
    /// WebSocket: path and query as written (empty when none); for `k8s:` everything after the colon.
    public let path: String

    public var isSecure: Bool { scheme == .wss || scheme == .grpcs }

    /// `host[:port]` as written (host in lower case, IPv6 in brackets): the name the auth proof is bound to.
    public var authority: String {
        guard let host, let port else { return "" }
        return portIsWritten ? "\(host.bracketed):\(port)" : host.bracketed
    }

    /// The URL as written, up to letter case; parses back to the same value.
    public var description: String {
        scheme == .k8s ? "k8s:\(path)" : "\(scheme.rawValue)://\(authority)\(path)"
    }

    public static func parse(_ text: String) -> Result<SignalingURL, ValueError> {
        guard let colon = text.firstIndex(of: ":"),
              let scheme = Scheme(rawValue: text[..<colon].lowercased()) else {
            return .failure(ValueError("`\(text)' is not a signaling URL (ws://, wss://, grpc://, grpcs://, k8s:)"))
        }
        var rest = text[text.index(after: colon)...]
        if scheme == .k8s {
            return parseKubernetes(rest, of: text).map {
                SignalingURL(scheme: scheme, host: nil, port: nil, portIsWritten: false, path: String(rest))
            }
        }
        let webSocket = scheme == .ws || scheme == .wss
        guard rest.hasPrefix("//") else {
            return .failure(ValueError("`\(text)': write \(scheme.rawValue)://HOST[:PORT]\(webSocket ? "[/PATH]" : "")"))
        }
        rest = rest.dropFirst(2)
        var path = ""
        if let end = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) {
            path = String(rest[end...])
            rest = rest[..<end]
            // gRPC's request path is the method's (/wgice.signal.v1.Signal/Connect); a proxy routes that.
            guard webSocket || path == "/" else {
                return .failure(ValueError("`\(text)': gRPC URLs take no path or query: the call's path is always "
                    + "/wgice.signal.v1.Signal/Connect, and a reverse proxy routes that (nginx: location /wgice.signal.v1.Signal/)"))
            }
            guard path.utf8.allSatisfy({ $0 > 32 && $0 < 127 && $0 != UInt8(ascii: "#") }) else {
                return .failure(ValueError("`\(text)': the path has characters a URL cannot carry"))
            }
            if !webSocket { path = "" }
        }
        let written = splitHostPort(String(rest))?.port != nil
        return parseAuthority(rest, of: text, defaultPort: scheme == .ws || scheme == .grpc ? 80 : 443).map {
            SignalingURL(scheme: scheme, host: $0.host, port: $0.port, portIsWritten: written, path: path)
        }
    }
}

/// The three `k8s:` forms — `k8s:` (in a pod), `k8s:///path/to/kubeconfig`, `k8s://HOST:PORT` — each
/// with optional `?namespace=`, `token-file=`, `ca-file=`, `plaintext=` parameters. Files are checked
/// when the backend starts, not here: the config may be validated on another machine.
private func parseKubernetes(_ rest: Substring, of text: String) -> Result<Void, ValueError> {
    let usage = "write k8s:, k8s:///path/to/kubeconfig or k8s://HOST:PORT, optionally with ?namespace=NAME"
    var location = rest, query: Substring = ""
    if let mark = rest.firstIndex(of: "?") {
        location = rest[..<mark]
        query = rest[rest.index(after: mark)...]
    }
    if !location.isEmpty {
        guard location.hasPrefix("//") else { return .failure(ValueError("`\(text)': \(usage)")) }
        let afterSlashes = location.dropFirst(2)
        if afterSlashes.hasPrefix("/") {
            guard afterSlashes.count > 1 else { return .failure(ValueError("`\(text)': the kubeconfig path is empty")) }
        } else {
            guard let parts = splitHostPort(String(afterSlashes)), Host(parts.host) != nil, let port = parts.port,
                  parseDecimal(port, UInt16.self, in: 1...65535) != nil else {
                return .failure(ValueError("`\(text)': `\(afterSlashes)' is not HOST:PORT of an API server (\(usage))"))
            }
        }
    }
    for item in query.split(separator: "&", omittingEmptySubsequences: false) where !query.isEmpty {
        let pair = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        guard pair.count == 2, ["namespace", "token-file", "ca-file", "plaintext"].contains(String(pair[0])) else {
            return .failure(ValueError("`\(text)': unknown parameter `\(item)' (namespace, token-file, ca-file, plaintext)"))
        }
        if pair[0] == "namespace", !(Host.isName(String(pair[1])) && !pair[1].contains(".") && pair[1].count <= 63) {
            return .failure(ValueError("`\(text)': namespace `\(pair[1])' is not a DNS label"))
        }
    }
    return .success(())
}

/// `HOST[:PORT]` or `[IPv6][:PORT]` of a URL (`text`, for messages); the port is 1-65535.
private func parseAuthority(_ authority: Substring, of text: String, defaultPort: UInt16) -> Result<(host: Host, port: UInt16), ValueError> {
    guard let parts = splitHostPort(String(authority)), let host = Host(parts.host),
          parts.bracketed == host.isIPv6Literal else {
        return .failure(ValueError("`\(text)': `\(authority)' is not HOST, HOST:PORT or [IPv6]:PORT"))
    }
    guard let portText = parts.port else { return .success((host, defaultPort)) }
    guard let port = parseDecimal(portText, UInt16.self, in: 1...65535) else {
        return .failure(ValueError("`\(text)': port `\(portText)' is not 1-65535"))
    }
    return .success((host, port))
}

extension Host {
    var isIPv6Literal: Bool {
        if case .ip(let ip, _) = self { return ip.isIPv6 }
        return false
    }
}

public enum CandidateType: String, Sendable, CaseIterable, Codable { case host, srflx, prflx, relay }
public enum NetworkType: String, Sendable, CaseIterable, Codable { case udp4, udp6, tcp4, tcp6 }
public enum ProxyMode: String, Sendable, CaseIterable, Codable { case auto, nftables, userspace }
/// A way to ask the home router for a port mapping (`PortMapping =`), in the order the session tries them.
public enum MappingProtocol: String, Sendable, CaseIterable, Codable { case pcp, natpmp = "nat-pmp", upnp }
public enum LogLevel: String, Sendable, CaseIterable, Codable {
    case trace, debug, info, notice, warning, error, critical
}

/// Which WireGuard peers get an ICE agent.
public enum PeerSelection: Sendable, Hashable {
    /// Peers without a static Endpoint in the file (the default).
    case auto
    case all
    case keys([Key])
}

/// One `Interfaces` pattern: an fnmatch(3) glob over interface names, `!` to exclude.
public struct InterfacePattern: Sendable, Hashable, CustomStringConvertible {
    public let glob: String
    public let excludes: Bool
    public var description: String { excludes ? "!\(glob)" : glob }
}

/// A `lo-hi` range of local ports for ICE sockets.
public struct PortRange: Sendable, Hashable, CustomStringConvertible {
    public let lower: UInt16
    public let upper: UInt16
    public var description: String { "\(lower)-\(upper)" }
}

/// Why a value was refused; the parser adds the path, line and key.
public struct ValueError: Error, Sendable, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
}

/// Parses `200ms`, `5s`, `2m`, `1h`, and sums like `1m30s`. Zero is refused: every duration here is a
/// period or a deadline.
public func parseDuration(_ text: String) -> Duration? {
    var total: Int64 = 0
    var rest = Substring(text)
    guard !rest.isEmpty else { return nil }
    while !rest.isEmpty {
        let digits = rest.prefix(while: { $0.isASCII && $0.isNumber })
        guard !digits.isEmpty, digits.count <= 9, let n = Int64(digits) else { return nil }
        rest = rest.dropFirst(digits.count)
        let unit = rest.prefix(while: { $0.isASCII && $0.isLetter })
        rest = rest.dropFirst(unit.count)
        let factor: Int64
        switch unit {
        case "ms": factor = 1
        case "s": factor = 1000
        case "m": factor = 60_000
        case "h": factor = 3_600_000
        default: return nil
        }
        total += n * factor
        guard total <= 86_400_000 * 365 else { return nil }
    }
    return total > 0 ? .milliseconds(total) : nil
}

/// The shortest `1m30s`-style spelling, for output that parses back to the same value.
public func formatDuration(_ duration: Duration) -> String {
    var ms = duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    var text = ""
    for (unit, size) in [("h", Int64(3_600_000)), ("m", 60_000), ("s", 1000), ("ms", 1)] where ms >= size {
        text += "\(ms / size)\(unit)"
        ms %= size
    }
    return text.isEmpty ? "0s" : text
}

/// Bounds and defaults of the ICE timing keys. `ICEConfiguration` (module ICE) enforces the same bounds;
/// a test holds the two to each other, so `check` never accepts a value `up` refuses.
public enum ICETiming {
    /// libnice's own Ta, which every measurement of wg-ice's setup time was made with.
    public static let defaultCheckInterval: Duration = .milliseconds(20)
    /// RFC 8445 §14.2 wants Ta of at least 5 ms; above 1 s a checklist of 25 pairs takes minutes.
    public static let checkInterval: ClosedRange<Duration> = .milliseconds(5) ... .seconds(1)
    /// RFC 8863's PAC timer: the check transaction timeout with RFC 5389's defaults.
    public static let defaultFailedTimeout: Duration = .milliseconds(39_500)
    public static let failedTimeout: ClosedRange<Duration> = defaultFailedTimeout ... .seconds(600)

    static func describe(_ range: ClosedRange<Duration>) -> String {
        "\(formatDuration(range.lowerBound))-\(formatDuration(range.upperBound))"
    }
}
