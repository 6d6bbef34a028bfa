/// Which tool's rule a configuration error comes from. The differential tests use this: `wg setconf`
/// must reject the stripped file exactly when there is a `.wireGuard` error.
public enum RuleOrigin: String, Sendable, Codable {
    /// wg(8)'s own grammar: `wg setconf` rejects the file too.
    case wireGuard
    /// A wg-quick key (Address, DNS, MTU, Table, hooks, SaveConfig) that wg-quick would mishandle.
    case wgQuick
    /// A wg-ice setting (the `[ICE]` section or the commented `#[ICE]` block).
    case wgIce
    /// wg accepts it but means something surprising (a service name as port, a port above 65535
    /// silently truncated, a repeated peer); wg-ice refuses it. Listed in wg-ice.conf(5).
    case stricterThanWireGuard
}

/// One finding about a configuration file, anchored at the line it is about.
public struct Diagnostic: Sendable, Equatable, CustomStringConvertible {
    public enum Severity: String, Sendable { case error, warning }

    public var path: String
    public var line: Int
    public var severity: Severity
    public var origin: RuleOrigin
    public var message: String

    public var description: String {
        severity == .error ? "\(path):\(line): \(message)" : "\(path):\(line): warning: \(message)"
    }
}
