import Foundation
import Testing
import TestSupport

/// `wg-ice-hook watch` in each site's namespace, stock wg-quick without any hook, wireguard-go, a real
/// wg-ice-signal: the watch attaches a session to each interface whose configuration has wg-ice settings.
@Suite(.serialized, .tags(.integration)) struct WatchTests {
    @Test func watchAttachesRestartsAndStopsSessions() async throws {
        let lab = try await offPool { try Lab(scheme: "ws", hook: false) }
        defer { lab.destroy() }
        let watchA = try Watcher(lab, lab.a), watchB = try Watcher(lab, lab.b)
        defer { [watchA, watchB].forEach { $0.kill() } }

        // Also in A's namespace: an interface whose configuration has no wg-ice settings, and one without a
        // configuration in the watched directory. Both are ignored, with one log line each.
        let plain = try await offPool { try lab.a.ns.addWireGuardGo(prefix: "wgsp") }
        let key = try await offPool { try runChecked(["wg", "genkey"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines) }
        try "[Interface]\nPrivateKey = \(key)\n".write(toFile: "\(lab.a.configDirectory)/\(plain).conf", atomically: true, encoding: .utf8)
        let unconfigured = try await offPool { try lab.a.ns.addWireGuardGo(prefix: "wgsu") }

        let started = Date()
        for side in [lab.a, lab.b] {
            let up = try await lab.exec(side, "wg-quick up \(side.config)")
            #expect(up.status == 0, "wg-quick up: \(up.output)")
        }
        for (side, watch) in [(lab.a, watchA), (lab.b, watchB)] {
            let attached = try await eventually(seconds: 15) { watch.child(of: side, lab: lab) != nil }
            #expect(attached, "no session for \(side.interface) under the watch: \(watch.log)")
        }
        let pinged = try await eventually(seconds: 30) {
            try await lab.exec(lab.a, "ping -c 1 -W 1 \(lab.b.tunnelAddress)").status == 0
        }
        let state = pinged ? "" : try await lab.exec(lab.a, "wg show; nft list ruleset; wg-ice-hook status").output
        #expect(pinged, "no ping through the tunnel: \(state)\n\(watchA.log)")
        print("[watch] both wg-quick up → first ping reply: \(Int(Date().timeIntervalSince(started) * 1000)) ms")
        let status = try await lab.exec(lab.b, "wg-ice-hook status \(lab.b.interface)")
        #expect(status.status == 0 && status.output.contains("data path: kernel-redirect"), "\(status.output)")
        let childA = try #require(watchA.child(of: lab.a, lab: lab))
        #expect(try processStatus(childA)["Uid"] == expectedSessionIDs().uid)

        let ignored = try await eventually(seconds: 5) {
            watchA.log.contains("\(plain): ignored: ") && watchA.log.contains("\(unconfigured): ignored: no ")
        }
        #expect(ignored, "\(watchA.log)")
        #expect(!FileManager.default.fileExists(atPath: "/run/wg-ice/\(plain).pid"))
        #expect(!FileManager.default.fileExists(atPath: "/run/wg-ice/\(unconfigured).pid"))

        // A session that dies while its interface exists is restarted, and the tunnel comes back.
        let childB = try #require(watchB.child(of: lab.b, lab: lab))
        kill(childB, SIGKILL)
        let killed = Date()
        let restarted = try await eventually(seconds: 15) {
            watchB.child(of: lab.b, lab: lab).map { $0 != childB } ?? false
        }
        #expect(restarted, "killed session not restarted: \(watchB.log)")
        let again = try await eventually(seconds: 30) {
            try await lab.exec(lab.a, "ping -c 1 -W 1 \(lab.b.tunnelAddress)").status == 0
        }
        #expect(again, "no ping after the restart: \(watchB.log)")
        print("[watch] session killed → restarted → ping reply: \(Int(Date().timeIntervalSince(killed) * 1000)) ms")

        // The interface goes away: its session ends by itself, the watch keeps running.
        #expect(try await lab.exec(lab.a, "wg-quick down \(lab.a.config)").status == 0)
        let ended = try await eventually(seconds: 10) { !isAlive(childA) }
        #expect(ended, "session of a removed interface still running: \(watchA.log)")
        #expect(watchA.isRunning)

        // SIGTERM: the watch stops its sessions (which remove their nftables table) and exits.
        let lastB = try #require(watchB.child(of: lab.b, lab: lab))
        for watch in [watchA, watchB] { watch.terminate() }
        let stopped = try await eventually(seconds: 15) { !watchA.isRunning && !watchB.isRunning && !isAlive(lastB) }
        #expect(stopped, "watch or session left running: \(watchB.log)")
        let tables = try await lab.exec(lab.b, "nft list tables")
        #expect(tables.output.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "left behind: \(tables.output)")
    }
}

/// `wg-ice-hook watch --config-dir` run in a side's namespace: that directory holds only this side's files,
/// so the watch ignores every other test's interface in the shared /var/run/wireguard.
private final class Watcher: Sendable {
    private let process: Process
    private let logFile: String

    init(_ lab: Lab, _ side: Lab.Side) throws {
        logFile = lab.directory.appendingPathComponent("watch-\(side.interface).log").path
        FileManager.default.createFile(atPath: logFile, contents: nil)
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: logFile))
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                             "ip", "netns", "exec", side.ns.name, builtProduct("wg-ice-hook"), "watch",
                             "--config-dir", side.configDirectory]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = output
        process.standardError = output
        try process.run()
    }

    var log: String { (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? "" }
    var isRunning: Bool { isAlive(process.processIdentifier) }

    /// The side's session, if it runs and is a child of this watch.
    func child(of side: Lab.Side, lab: Lab) -> pid_t? {
        guard let pid = lab.sessionPid(side), isAlive(pid),
              (try? processStatus(pid))?["PPid"] == "\(process.processIdentifier)" else { return nil }
        return pid
    }

    func terminate() { Foundation.kill(process.processIdentifier, SIGTERM) }

    func kill() {
        Foundation.kill(process.processIdentifier, SIGKILL)
        reap(process)
    }
}
