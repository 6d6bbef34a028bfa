import Keys

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
