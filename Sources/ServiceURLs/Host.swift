import Addresses

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

    /// A DNS name: dot-separated labels of letters, digits, `-` and `_`, at most 253 characters. Package-wide:
    /// ConfParser checks wg-quick's DNS search domains with it.
    package static func isName(_ text: String) -> Bool {
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

extension Host {
    /// Whether `[...]` must enclose this host in `host:port` (ConfParser checks an Endpoint's brackets with it).
    package var isIPv6Literal: Bool {
        if case .ip(let ip, _) = self { return ip.isIPv6 }
        return false
    }
}
