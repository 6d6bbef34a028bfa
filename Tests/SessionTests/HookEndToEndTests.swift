import Foundation
import Testing
import TestSupport

/// Stock wg-quick with `PostUp = wg-ice-hook %i` on both sides of a LAN, wireguard-go, a real
/// wg-ice-signal: the tunnel comes up through ICE without any Endpoint line, and goes away cleanly.
@Suite(.serialized, .tags(.integration)) struct HookEndToEndTests {
    @Test(arguments: [("ws", "auto"), ("grpc", "auto"), ("ws", "userspace")])
    func wgQuickUpPingStatusDown(scheme: String, proxy: String) async throws {
        let lab = try await offPool { try Lab(scheme: scheme, proxy: proxy) }
        defer { lab.destroy() }

        for side in [lab.a, lab.b] {
            let up = try await lab.exec(side, "wg-quick up \(side.config)")
            #expect(up.status == 0, "wg-quick up: \(up.output)")
            #expect(lab.sessionPid(side) != nil, "no pidfile for \(side.interface)")
        }

        let upDone = Date()
        let pinged = try await eventually(seconds: 30) {
            try await lab.exec(lab.a, "ping -c 1 -W 1 \(lab.b.tunnelAddress)").status == 0
        }
        print("[\(scheme), Proxy = \(proxy)] both wg-quick up → first ping reply: \(Int(Date().timeIntervalSince(upDone) * 1000)) ms")
        let state = pinged ? "" : try await lab.exec(lab.a, "wg show; nft list ruleset; wg-ice-hook status").output
        #expect(pinged, "no ping reply through the tunnel: \(state)")
        // libnice reports the selected pair before its state leaves "checking"; the tunnel can be faster.
        _ = try await eventually(seconds: 10) {
            let text = try await lab.exec(lab.a, "wg-ice-hook status \(lab.a.interface) --json").output
            return text.contains("\"connected\"") || text.contains("\"ready\"")
        }

        let status = try await lab.exec(lab.a, "wg-ice-hook status \(lab.a.interface) --json")
        #expect(status.status == 0, "status: \(status.output)")
        let json = try JSONSerialization.jsonObject(with: Data(status.output.utf8)) as? [String: Any]
        let peer = (json?["peers"] as? [[String: Any]])?.first
        #expect(["connected", "ready"].contains(peer?["iceState"] as? String), "\(status.output)")
        // Same LAN: a direct host pair. By default the kernel carries it and WireGuard points at the remote
        // candidate; with Proxy = userspace WireGuard points at the loopback proxy and no nftables table exists.
        let pair = peer?["selectedPair"] as? [String: Any]
        #expect(pair?["localType"] as? String == "host" && pair?["remoteType"] as? String == "host", "\(status.output)")
        let tables = try await lab.exec(lab.a, "nft list tables").output
        if proxy == "userspace" {
            #expect(peer?["dataPath"] as? String == "userspace-proxy", "\(status.output)")
            #expect((peer?["endpoint"] as? String)?.hasPrefix("127.0.0.1:") == true, "\(status.output)")
            #expect(!tables.contains("wg-ice-"), "\(tables)")
        } else {
            #expect(peer?["dataPath"] as? String == "kernel-redirect", "\(status.output)")
            #expect(peer?["endpoint"] as? String == pair?["remote"] as? String, "\(status.output)")
            #expect(tables.contains("wg-ice-\(lab.a.interface)"), "\(tables)")
        }
        #expect(peer?["lastHandshake"] as? Int != nil, "\(status.output)")
        // The first handshake was started with a persistent keepalive of 1 s (FirstHandshake); the configured
        // value (none) must be back on both sides once it is done.
        for side in [lab.a, lab.b] {
            let restored = try await eventually(seconds: 5) {
                let lines = try await lab.exec(side, "wg show \(side.interface) persistent-keepalive").output
                    .split(separator: "\n")
                return !lines.isEmpty && lines.allSatisfy { $0.hasSuffix("\toff") }
            }
            let keepalive = try await lab.exec(side, "wg show \(side.interface) persistent-keepalive").output
            #expect(restored, "\(side.interface): persistent keepalive not restored to off: \(keepalive)")
        }
        // The session that set all this up (nft included, for the kernel path) runs with CAP_NET_ADMIN only as the
        // dedicated account wg-ice, or as nobody where that does not exist (tests/session-account.sh checks both).
        let privileges = try processStatus(try #require(lab.sessionPid(lab.a)))
        #expect(privileges["Uid"] == expectedSessionIDs().uid, "\(privileges)")
        #expect(privileges["Gid"] == expectedSessionIDs().gid, "\(privileges)")
        for set in ["CapPrm", "CapEff", "CapInh", "CapAmb", "CapBnd"] {
            #expect(privileges[set] == "0000000000001000", "\(set): \(privileges)")
        }
        #expect(privileges["NoNewPrivs"] == "1", "\(privileges)")
        let text = try await lab.exec(lab.b, "wg-ice-hook status")
        #expect(text.output.contains("peer: "), "\(text.output)")

        // A's session restarts: B hears bye, both start new agents, the tunnel comes back on a new pair.
        let pidBefore = try #require(lab.sessionPid(lab.a))
        #expect(try await lab.exec(lab.a, "wg-ice-hook down \(lab.a.interface)").status == 0)
        #expect(!isAlive(pidBefore))
        #expect(try await lab.exec(lab.a, "wg-ice-hook up \(lab.a.interface) --config \(lab.a.config)").status == 0)
        let restarted = Date()
        let again = try await eventually(seconds: 30) {
            try await lab.exec(lab.a, "ping -c 1 -W 1 \(lab.b.tunnelAddress)").status == 0
        }
        let after = again ? "" : try await lab.exec(lab.a, "wg show; nft list ruleset; wg-ice-hook status").output
        #expect(again, "no ping after the session restarted: \(after)")
        print("[\(scheme), Proxy = \(proxy)] session restart → ping reply: \(Int(Date().timeIntervalSince(restarted) * 1000)) ms")

        // Peers added and removed with `wg set` are picked up and dropped.
        let extra = try await offPool {
            try runChecked(["wg", "pubkey"], input: try runChecked(["wg", "genkey"]).stdout).stdout
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
        try await lab.exec(lab.a, "wg set \(lab.a.interface) peer \(extra) allowed-ips 10.99.0.3/32")
        let added = try await eventually(seconds: 30) { try await peerKeys(lab, lab.a).contains(extra) }
        #expect(added, "peer added with wg set has no session")
        try await lab.exec(lab.a, "wg set \(lab.a.interface) peer \(extra) remove")
        let removed = try await eventually(seconds: 30) { try await !peerKeys(lab, lab.a).contains(extra) }
        #expect(removed, "peer removed with wg set still has a session")

        // A: explicit down, then wg-quick down. B: wg-quick down only; its session ends with the interface.
        let pidA = try #require(lab.sessionPid(lab.a)), pidB = try #require(lab.sessionPid(lab.b))
        let down = try await lab.exec(lab.a, "wg-ice-hook down \(lab.a.interface)")
        #expect(down.status == 0, "down: \(down.output)")
        #expect(!isAlive(pidA), "session A still running after down")
        for side in [lab.a, lab.b] {
            let result = try await lab.exec(side, "wg-quick down \(side.config)")
            #expect(result.status == 0, "wg-quick down: \(result.output)")
        }
        let gone = try await eventually(seconds: 10) { !isAlive(pidB) }
        #expect(gone, "session B still running after its interface went away")
        // B's session, running as nobody, could not remove its files from root's /run/wg-ice: the next reader
        // finds the process gone, says so, and removes them.
        let statusB = try await lab.exec(lab.b, "wg-ice-hook status \(lab.b.interface)")
        #expect(statusB.status == 1 && statusB.output.contains("no running session"), "\(statusB.output)")
        for side in [lab.a, lab.b] {
            #expect(!FileManager.default.fileExists(atPath: "/run/wg-ice/\(side.interface).sock"))
            #expect(!FileManager.default.fileExists(atPath: "/run/wg-ice/\(side.interface).pid"))
            let tables = try await lab.exec(side, "nft list tables")
            #expect(tables.output.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "left behind: \(tables.output)")
        }
    }

    @Test func badConfigurationExitsTwoAndStartsNothing() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("wg-ice-bad-\(uniqueSuffix())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("wgbad0.conf").path
        try "[Interface]\nPrivateKey = nope\n#[ICE]\n#Signaling = ws://127.0.0.1:1\n".write(toFile: path, atomically: true, encoding: .utf8)
        let result = try await offPool { try run([builtProduct("wg-ice-hook"), "wgbad0", "--config", path]) }
        #expect(result.status == 2)
        #expect(result.stderr.contains("\(path):2:"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "/run/wg-ice/wgbad0.pid"))
    }
}

func peerKeys(_ lab: Lab, _ side: Lab.Side) async throws -> [String] {
    let text = try await lab.exec(side, "wg-ice-hook status \(side.interface) --json").output
    let json = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
    return (json?["peers"] as? [[String: Any]] ?? []).compactMap { $0["publicKey"] as? String }
}

/// /proc/PID/status as key → value (tabs inside values kept).
func processStatus(_ pid: pid_t) throws -> [String: String] {
    let text = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
    var fields: [String: String] = [:]
    for line in text.split(separator: "\n") {
        guard let colon = line.firstIndex(of: ":") else { continue }
        fields[String(line[..<colon])] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }
    return fields
}

/// Alive and not a zombie (a detached session is reparented to init, which may not reap it here).
func isAlive(_ pid: pid_t) -> Bool {
    guard kill(pid, 0) == 0 else { return false }
    let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
    return !(stat.split(separator: ")").last?.hasPrefix(" Z") ?? false)
}

func eventually(seconds: Double, _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(200))
    }
    return false
}
