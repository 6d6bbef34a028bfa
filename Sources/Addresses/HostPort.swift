/// Splits `host:port` / `[v6]:port` like wg's parse_endpoint: brackets, else the last `:`.
/// Returns nil when the brackets are malformed; the port is nil when there is none.
public func splitHostPort(_ text: String) -> (host: String, port: Substring?, bracketed: Bool)? {
    if text.hasPrefix("[") {
        guard let close = text.firstIndex(of: "]") else { return nil }
        let host = String(text[text.index(after: text.startIndex)..<close])
        let rest = text[text.index(after: close)...]
        if rest.isEmpty { return (host, nil, true) }
        guard rest.hasPrefix(":") else { return nil }
        return (host, rest.dropFirst(), true)
    }
    guard let colon = text.lastIndex(of: ":") else { return (text, nil, false) }
    return (String(text[..<colon]), text[text.index(after: colon)...], false)
}
