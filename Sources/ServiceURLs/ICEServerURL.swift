import Addresses

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
