import Keys
import Foundation
import TestSupport

/// Two network namespaces on one link (a "LAN"), a real wg-ice-signal in the first, and a wg-quick
/// configuration per side whose PostUp starts wg-ice-hook. Everything is removed by `destroy()`.
final class Lab: @unchecked Sendable {
    struct Side {
        let ns: NetNS
        let interface: String
        let config: String
        let tunnelAddress: String
        /// Holds this side's configuration only, for `wg-ice-hook watch --config-dir`.
        var configDirectory: String { URL(fileURLWithPath: config).deletingLastPathComponent().path }
    }

    let a: Side
    let b: Side
    let directory: URL
    private let server: Process
    private let serverLog: URL
    let signalingURL: String

    /// `scheme` picks the signaling transport both sides use: "ws" or "grpc"; `proxy` is the `Proxy` setting;
    /// `settings` are more `Key = Value` lines for both sides' `#[ICE]` blocks, `iceOnA`/`iceOnB` for one side.
    /// Without `hook` neither configuration has the PostUp line (for `wg-ice-hook watch`); `hookOnB: false`
    /// leaves it out of B's only (wg-ice-resolve runs there).
    init(scheme: String, proxy: String = "auto", settings: [String] = [], hook: Bool = true, hookOnB: Bool = true,
         iceOnA: [String] = [], iceOnB: [String] = []) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("wg-ice-lab-\(uniqueSuffix())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let nsA = try NetNS(prefix: "wgsa"), nsB = try NetNS(prefix: "wgsb")
        var started: [NetNS] = [nsA, nsB]
        var process: Process?
        do {
            // libnice ignores interfaces named veth*, so the link gets other names.
            let suffix = uniqueSuffix()
            let linkA = String("lana\(suffix)".prefix(15)), linkB = String("lanb\(suffix)".prefix(15))
            try runChecked(["ip", "link", "add", linkA, "netns", nsA.name, "type", "veth", "peer", "name", linkB, "netns", nsB.name])
            try nsA.exec(["ip", "addr", "add", "10.77.0.1/24", "dev", linkA])
            try nsB.exec(["ip", "addr", "add", "10.77.0.2/24", "dev", linkB])
            try nsA.exec(["ip", "link", "set", linkA, "up"])
            try nsB.exec(["ip", "link", "set", linkB, "up"])

            serverLog = directory.appendingPathComponent("signal.out")
            FileManager.default.createFile(atPath: serverLog.path, contents: nil)
            let server = Process()
            server.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            server.arguments = ["ip", "netns", "exec", nsA.name, builtProduct("wg-ice-signal"),
                                "--listen", "\(scheme)://10.77.0.1:0"]
            server.standardInput = FileHandle.nullDevice
            server.standardOutput = try FileHandle(forWritingTo: serverLog)
            server.standardError = FileHandle.nullDevice
            try server.run()
            process = server
            let deadline = Date().addingTimeInterval(20)
            var url: String?
            while url == nil {
                let text = (try? String(contentsOf: serverLog, encoding: .utf8)) ?? ""
                url = text.split(separator: "\n").first { $0.hasPrefix("listening ") }.map { String($0.dropFirst(10)) }
                guard url != nil || (server.isRunning && Date() < deadline) else {
                    throw LabError("wg-ice-signal did not start: \(text)")
                }
                if url == nil { Thread.sleep(forTimeInterval: 0.05) }
            }
            signalingURL = url!

            let keyA = try runChecked(["wg", "genkey"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let keyB = try runChecked(["wg", "genkey"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let pubA = try runChecked(["wg", "pubkey"], input: keyA).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let pubB = try runChecked(["wg", "pubkey"], input: keyB).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let ifA = String("wgsa\(uniqueSuffix())".prefix(15)), ifB = String("wgsb\(uniqueSuffix())".prefix(15))
            let directory = directory, signaling = signalingURL
            func side(_ ns: NetNS, _ interface: String, key: String, address: String, peer: String, peerAddress: String,
                      hook: Bool, ice: [String]) throws -> Side {
                let sideDirectory = directory.appendingPathComponent(interface)
                try FileManager.default.createDirectory(at: sideDirectory, withIntermediateDirectories: true)
                let path = sideDirectory.appendingPathComponent("\(interface).conf").path
                let text = """
                    [Interface]
                    PrivateKey = \(key)
                    Address = \(address)/24
                    ListenPort = 51820
                    \(hook ? "PostUp = wg-ice-hook %i --config \(path)" : "")

                    #[ICE]
                    #Signaling = \(signaling)
                    #Proxy = \(proxy)
                    \(ice.map { "#\($0)\n" }.joined())

                    [Peer]
                    PublicKey = \(peer)
                    AllowedIPs = \(peerAddress)/32

                    """
                try text.write(toFile: path, atomically: true, encoding: .utf8)
                return Side(ns: ns, interface: interface, config: path, tunnelAddress: address)
            }
            a = try side(nsA, ifA, key: keyA, address: "10.99.0.1", peer: pubB, peerAddress: "10.99.0.2",
                         hook: hook, ice: settings + iceOnA)
            b = try side(nsB, ifB, key: keyB, address: "10.99.0.2", peer: pubA, peerAddress: "10.99.0.1",
                         hook: hook && hookOnB, ice: settings + iceOnB)
            self.server = server
        } catch {
            if let process { kill(process.processIdentifier, SIGKILL) }
            started.forEach { $0.destroy() }
            try? FileManager.default.removeItem(at: directory)
            throw error
        }
        started = []
    }

    /// Runs a command in a side's namespace with wg-quick set up for wireguard-go (or the `userspaceWireGuard()`
    /// chosen) and wg-ice-hook on PATH. Output goes to a file: WireGuard and the session outlive the command
    /// and must not hold its pipes.
    @discardableResult
    func exec(_ side: Side, _ command: String) async throws -> (status: Int32, output: String) {
        try await offPool { try self.execBlocking(side, command) }
    }

    private func execBlocking(_ side: Side, _ command: String) throws -> (status: Int32, output: String) {
        let log = directory.appendingPathComponent("cmd-\(uniqueSuffix()).log").path
        let hookDirectory = URL(fileURLWithPath: builtProduct("wg-ice-hook")).deletingLastPathComponent().path
        let result = try run(["ip", "netns", "exec", side.ns.name, "sh", "-c", "\(command) >\(log) 2>&1"], environment: [
            "PATH": "\(hookDirectory):/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "WG_QUICK_USERSPACE_IMPLEMENTATION": userspaceWireGuard(),
            "WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD": "1",
        ])
        return (result.status, (try? String(contentsOfFile: log, encoding: .utf8)) ?? "")
    }

    func sessionPid(_ side: Side) -> pid_t? {
        (try? String(contentsOfFile: "/run/wg-ice/\(side.interface).pid", encoding: .utf8))
            .flatMap { pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    func destroy() {
        for side in [a, b] {
            if let pid = sessionPid(side) { kill(pid, SIGKILL) }
            _ = try? execBlocking(side, "wg-quick down \(side.config)")
            side.ns.destroy()
            unlink("/run/wg-ice/\(side.interface).pid")
            unlink("/run/wg-ice/\(side.interface).sock")
        }
        kill(server.processIdentifier, SIGTERM)
        try? FileManager.default.removeItem(at: directory)
    }
}

struct LabError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

