import Foundation

/// A network namespace that exists for the lifetime of a test. Call `destroy()` when done;
/// deleting the namespace also deletes the links inside it (and so stops wireguard-go).
public final class NetNS: Sendable {
    public let name: String

    public init(prefix: String = "wgit") throws {
        name = "\(prefix)-\(uniqueSuffix())"
        try runChecked(["ip", "netns", "add", name])
        try exec(["ip", "link", "set", "lo", "up"])
    }

    /// Runs a command inside the namespace; throws unless it exits 0.
    @discardableResult
    public func exec(_ argv: [String], input: String? = nil, environment: [String: String] = [:]) throws -> CommandResult {
        try runChecked(["ip", "netns", "exec", name] + argv, input: input, environment: environment)
    }

    /// Runs a command inside the namespace and returns its result whatever the exit status.
    @discardableResult
    public func tryExec(_ argv: [String], input: String? = nil, environment: [String: String] = [:]) throws -> CommandResult {
        try run(["ip", "netns", "exec", name] + argv, input: input, environment: environment)
    }

    /// Creates a wireguard-go interface (or the `userspaceWireGuard()` chosen) in this namespace and waits for
    /// its UAPI socket. The name is unique because `/var/run/wireguard` is shared by all namespaces.
    public func addWireGuardGo(prefix: String = "wgt") throws -> String {
        let ifname = "\(prefix)\(uniqueSuffix())".prefix(15)
        // Foreground, not waited for: the daemonising form leaves a grandchild holding a descriptor that
        // Foundation's Process watches, so waiting for `wireguard-go IFACE` to return can hang forever.
        let daemon = Process()
        daemon.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        daemon.arguments = ["PATH=/usr/bin:/bin:/usr/sbin:/sbin", "ip", "netns", "exec", name, userspaceWireGuard(), "-f", String(ifname)]
        daemon.standardInput = FileHandle.nullDevice
        daemon.standardOutput = FileHandle.nullDevice
        daemon.standardError = FileHandle.nullDevice
        try daemon.run()
        let socket = "/var/run/wireguard/\(ifname).sock"
        // The file appears at bind(), a moment before listen(): wait until it accepts a connection.
        for _ in 0..<250 where !acceptsConnections(socket) { usleep(20_000) }
        guard acceptsConnections(socket) else {
            throw CommandError(argv: [userspaceWireGuard(), String(ifname)],
                               result: CommandResult(status: -1, stdout: "", stderr: "no listening UAPI socket at \(socket)"))
        }
        return String(ifname)
    }

    public func destroy() {
        // Links go first so wireguard-go notices and removes its socket before the namespace vanishes.
        if let links = try? tryExec(["ip", "-o", "link", "show"]).stdout {
            for line in links.split(separator: "\n") {
                let fields = line.split(separator: ":", maxSplits: 2)
                guard fields.count > 1 else { continue }
                let name = fields[1].trimmingCharacters(in: .whitespaces).split(separator: "@").first.map(String.init) ?? ""
                if name != "lo" { _ = try? tryExec(["ip", "link", "del", name]) }
            }
        }
        _ = try? run(["ip", "netns", "del", name])
    }
}

/// Whether a unix stream socket at `path` accepts a connection right now.
func acceptsConnections(_ path: String) -> Bool {
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var addr = sockaddr_un()
    addr.sun_family = sa_family_t(AF_UNIX)
    let bytes = Array(path.utf8)
    guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { return false }
    withUnsafeMutableBytes(of: &addr.sun_path) { $0.copyBytes(from: bytes) }
    return withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    } == 0
}
