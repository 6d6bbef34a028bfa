import Foundation

/// A real coturn in a namespace: long-term credentials `user`/`password`, plain UDP and TCP on 3478, no TLS
/// and no CLI. Its log is `directory/turnserver.log` while it runs.
public struct Turnserver: Sendable {
    public static let user = "wgice", password = "lab-secret"
    let process: Process
    public let directory: URL

    public init(in ns: NetNS, address: String) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("turnserver-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let config = directory.appendingPathComponent("turnserver.conf")
        try """
            listening-ip=\(address)
            relay-ip=\(address)
            listening-port=3478
            min-port=49152
            max-port=65535
            lt-cred-mech
            user=\(Self.user):\(Self.password)
            realm=wg-ice.test
            fingerprint
            no-tls
            no-dtls
            no-cli
            no-rfc5780
            pidfile=\(directory.path)/turnserver.pid
            log-file=\(directory.path)/turnserver.log
            simple-log
            verbose
            """.write(to: config, atomically: true, encoding: .utf8)
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["ip", "netns", "exec", ns.name, "turnserver", "-c", config.path]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        try waitForListening(ns)
    }

    private func waitForListening(_ ns: NetNS) throws {
        for _ in 0..<200 where process.isRunning {
            if try !ns.tryExec(["ss", "-Hlnt", "sport", "= :3478"]).stdout.isEmpty { return }
            usleep(25_000)
        }
        stop()
        throw Timeout(description: "turnserver did not start; see \(directory.path)/turnserver.log")
    }

    /// Kills it (coturn can take seconds to act on SIGTERM; nothing of it needs to survive a test).
    public func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        reap(process)
        try? FileManager.default.removeItem(at: directory)
    }
}
