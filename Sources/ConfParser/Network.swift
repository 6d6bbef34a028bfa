@_exported import Addresses
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An address with a prefix length (`10.0.0.1/24`). Without `/n` the prefix is the full length,
/// as wg does for AllowedIPs and wg-quick for Address.
public struct IPNetwork: Sendable, Hashable, CustomStringConvertible {
    public let address: IPAddress
    public let prefixLength: Int

    public init(address: IPAddress, prefixLength: Int) {
        self.address = address
        self.prefixLength = prefixLength
    }

    /// Follows wg's parse_allowedips: the prefix must start with a digit and be all digits.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = IPAddress(String(parts[0])) else { return nil }
        let maxPrefix = address.isIPv6 ? 128 : 32
        var prefix = maxPrefix
        if parts.count == 2 {
            guard let n = parseDecimal(parts[1], Int.self, in: 0...maxPrefix) else { return nil }
            prefix = n
        }
        self.init(address: address, prefixLength: prefix)
    }

    /// The network with host bits cleared, which is what WireGuard stores (`10.1.2.3/24` → `10.1.2.0/24`).
    public var masked: IPNetwork {
        var bytes = address.bytes
        for i in 0..<bytes.count {
            let keep = max(0, min(8, prefixLength - i * 8))
            bytes[i] &= keep == 0 ? 0 : UInt8(truncatingIfNeeded: 0xff << (8 - keep))
        }
        return IPNetwork(address: IPAddress(bytes: bytes)!, prefixLength: prefixLength)
    }

    public var description: String { "\(address)/\(prefixLength)" }
}

/// A host in an endpoint or URL: an IP literal or a DNS name (resolved later, not by the parser).
public enum Host: Sendable, Hashable, CustomStringConvertible {
    case ip(IPAddress, scope: String?)
    case name(String)

    /// Parses a host written without brackets (an IPv6 address arrives here already unbracketed).
    public init?(_ text: String) {
        var scope: String?
        var addressPart = Substring(text)
        if let percent = text.firstIndex(of: "%") {
            scope = String(text[text.index(after: percent)...])
            addressPart = text[..<percent]
        }
        if let ip = IPAddress(String(addressPart)) {
            guard scope == nil || (ip.isIPv6 && !scope!.isEmpty && Host.isName(scope!)) else { return nil }
            self = .ip(ip, scope: scope)
        } else if scope == nil, Host.isName(text) {
            self = .name(text.lowercased())
        } else {
            return nil
        }
    }

    /// A DNS name: dot-separated labels of letters, digits, `-` and `_`, at most 253 characters.
    static func isName(_ text: String) -> Bool {
        guard !text.isEmpty, text.utf8.count <= 253 else { return false }
        let labels = text.split(separator: ".", omittingEmptySubsequences: false)
        // A trailing dot (fully qualified) leaves one empty label at the end.
        let body = labels.last?.isEmpty == true && labels.count > 1 ? labels.dropLast() : labels[...]
        return body.allSatisfy { label in
            !label.isEmpty && label.utf8.count <= 63 && label.first != "-" && label.last != "-"
                && label.utf8.allSatisfy { c in
                    (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 45 || c == 95
                }
        }
    }

    public var description: String {
        switch self {
        case .ip(let ip, let scope): return scope.map { "\(ip)%\($0)" } ?? ip.description
        case .name(let name): return name
        }
    }

    /// The form used in `host:port`: IPv6 literals in brackets.
    public var bracketed: String {
        if case .ip(let ip, _) = self, ip.isIPv6 { return "[\(description)]" }
        return description
    }
}

/// A UDP endpoint `host:port` or `[v6]:port`.
public struct Endpoint: Sendable, Hashable, CustomStringConvertible {
    public let host: Host
    public let port: UInt16

    public init(host: Host, port: UInt16) {
        self.host = host
        self.port = port
    }

    public var description: String { "\(host.bracketed):\(port)" }
}

/// A decimal number in `range`, digits only (no sign, no spaces, no service names).
func parseDecimal<T: FixedWidthInteger>(_ text: some StringProtocol, _ type: T.Type, in range: ClosedRange<T>) -> T? {
    guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
    let trimmed = text.drop(while: { $0 == "0" })
    guard trimmed.count <= 20, let value = T(trimmed.isEmpty ? "0" : String(trimmed)), range.contains(value) else { return nil }
    return value
}
