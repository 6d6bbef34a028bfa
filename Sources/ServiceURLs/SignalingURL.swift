import Addresses

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
