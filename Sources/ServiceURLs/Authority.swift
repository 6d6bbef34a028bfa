import Addresses

/// `HOST[:PORT]` or `[IPv6][:PORT]` of a URL (`text`, for messages); the port is 1-65535.
func parseAuthority(_ authority: Substring, of text: String, defaultPort: UInt16) -> Result<(host: Host, port: UInt16), ValueError> {
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
