import Keys
import Foundation
import Signaling
import Testing
import TestSupport

/// Issue 13: descriptor exhaustion, floods of throwaway keys, held envelopes, ping floods, against the real server.
extension ServerTests {
    /// At the hard descriptor limit the server must neither spin on accept(2) (before: ~12,000 failed accept4
    /// in 3 s under strace, 0.66 s of CPU on a loaded 2-core machine) nor stay deaf once descriptors are free.
    @Test func acceptAtTheDescriptorLimitPausesAndServesAgain() async throws {
        let server = try ServerProcess(listen: ["ws://127.0.0.1:0", "grpc://127.0.0.1:0"],
                                       extra: ["--idle-timeout", "60", "--max-connections-per-address", "100000"],
                                       launcher: ["/usr/bin/prlimit", "--nofile=128:128"])
        let ws = server.url("ws"), grpc = server.url("grpc")
        let a = try TestPeer(url: ws)
        try await a.waitConnected()
        let fillers = try HeldSockets(counts: [(port(ws), 200), (port(grpc), 20)])
        defer { fillers.release() }
        try await Task.sleep(for: .seconds(1))
        let before = try cpuSeconds(server.process.processIdentifier)
        try await Task.sleep(for: .seconds(3))
        let spent = try cpuSeconds(server.process.processIdentifier) - before
        #expect(spent < 0.15, "server used \(spent) s of CPU in 3 s at the descriptor limit")
        #expect(server.log.contains("pausing accepts"))
        fillers.release()
        let c = try TestPeer(url: grpc)
        try await c.waitConnected(timeout: 10)
        try await c.channel.send(.candidate("after the limit"), to: a.publicKey)
        try await a.waitReceived(1)
        await a.close()
        await c.close()
    }

    /// Throwaway keys from ten addresses, twice what the server has room for: the per-address limits hold, a
    /// full server answers WebSocket with 503 and a reason, and peers from an address with fewer sessions
    /// still get in (the flood's idle sessions give way).
    @Test func floodOfThrowawayKeysFromManyAddressesDoesNotKeepPeersOut() async throws {
        let server = try ServerProcess(listen: ["ws://127.0.0.1:0", "grpc://127.0.0.1:0"],
                                       extra: ["--max-connections", "100", "--max-connections-per-address", "20",
                                               "--max-unauthenticated-per-address", "4", "--auth-timeout", "30"])
        let ws = server.url("ws")
        // TCP connections per address: the 21st is closed before any HTTP.
        let plain = try (0..<20).map { _ in try SourceBoundWebSocket(source: "127.0.0.50", port: port(ws)) }
        // Answered, so counted (connections are set up on several event loops, not in order of arrival).
        for socket in plain { #expect(try socket.get("/healthz").status == 200) }
        #expect(try SourceBoundWebSocket(source: "127.0.0.50", port: port(ws)).upgrade().status == 0)
        // Unauthenticated sessions per address: the fifth waiting one is refused with 503 and says why.
        let waiting = try (0..<4).map { _ in try SourceBoundWebSocket(source: "127.0.0.30", port: port(ws)) }
        for socket in waiting {
            #expect(try socket.upgrade().status == 101)
            #expect(socket.readServerFrame() != nil)  // the challenge: the session is counted
        }
        let fifth = try SourceBoundWebSocket(source: "127.0.0.30", port: port(ws)).upgrade()
        #expect(fifth.status == 503)
        #expect(fifth.body.hasPrefix("SERVER_FULL: too many unauthenticated"), "\(fifth.body)")
        var flood: [SourceBoundWebSocket] = [], subscribed = 0, full: [String] = []
        for host in 10..<20 {
            for _ in 0..<20 {
                let socket = try SourceBoundWebSocket(source: "127.0.0.\(host)", port: port(ws))
                let (status, body) = try socket.upgrade()
                if status == 503 { full.append(body) }
                if status == 101, case .subscribed? = try socket.authenticate(key: .generate(), url: ws)?.frame { subscribed += 1 }
                flood.append(socket)
            }
        }
        #expect(subscribed + full.count == 200 && !full.isEmpty, "\(subscribed) subscribed, \(full.count) refused")
        #expect(full.allSatisfy { $0.hasPrefix("SERVER_FULL: maximum number of connections reached") }, "\(full.first ?? "")")
        let a = try TestPeer(url: ws), b = try TestPeer(url: server.url("grpc"))
        try await a.waitConnected(timeout: 30)
        try await b.waitConnected(timeout: 30)
        try await a.channel.send(.candidate("through the flood"), to: b.publicKey)
        try await b.waitReceived(1)
        let metrics = try runChecked(["curl", "-sS", ws.replacingOccurrences(of: "ws://", with: "http://") + "/metrics"]).stdout
        #expect(metrics.contains("wg_ice_signal_connections 100\n"), "\(metrics)")
        #expect(metrics.contains("wg_ice_signal_connections_evicted_total") && !metrics.contains("evicted_total 0\n"))
        // Every 503 counted: the unauthenticated fifth and the flood's.
        #expect(metrics.contains("wg_ice_signal_connections_refused_total \(1 + full.count)\n"), "\(metrics)")
        await a.close()
        await b.close()
        withExtendedLifetime((plain, waiting, flood)) {}
    }

    /// Held envelopes are bounded in bytes (not only in count) and freed when their time is up.
    @Test func heldEnvelopesAreBoundedInBytesAndFreedOnTime() async throws {
        let server = try ServerProcess(listen: ["ws://127.0.0.1:0"],
                                       extra: ["--hold-ttl", "3", "--hold-bytes", "20000", "--hold", "100"])
        let metricsURL = server.url("ws").replacingOccurrences(of: "ws://", with: "http://") + "/metrics"
        func gauge(_ name: String) throws -> Int {
            let text = try runChecked(["curl", "-sS", metricsURL]).stdout
            return text.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Int($0.split(separator: " ")[1]) } ?? -1
        }
        let a = try TestPeer(url: server.url("ws"))
        try await a.waitConnected()
        let offline = PrivateKey.generate()
        for i in 0..<10 { try await a.channel.send(.candidate("\(i) " + String(repeating: "x", count: 4000)), to: offline.publicKey) }
        try await waitUntil(timeout: 5, "ten publishes answered") {
            ((try? gauge("wg_ice_signal_envelopes_total{result=\"held\"}")) ?? 0)
                + ((try? gauge("wg_ice_signal_envelopes_total{result=\"rejected\"}")) ?? 0) == 10
        }
        let heldAt = Date()
        #expect(try gauge("wg_ice_signal_envelopes_total{result=\"rejected\"}") == 6)
        #expect(try gauge("wg_ice_signal_held_envelopes") == 4)
        #expect(try (16000...20000).contains(gauge("wg_ice_signal_held_bytes")))
        try await waitUntil(timeout: 10, "held envelopes freed") { (try? gauge("wg_ice_signal_held_envelopes")) == 0 }
        let freedAfter = Date().timeIntervalSince(heldAt)
        // Slack for a loaded machine (4.5 s seen while the whole suite ran in parallel); the clean-up that ran
        // once per hold time took up to twice the hold time.
        #expect(freedAfter < 5.5, "freed \(freedAfter) s after being held with a 3 s hold time")
        #expect(try gauge("wg_ice_signal_held_bytes") == 0)
        let late = try TestPeer(url: server.url("ws"), key: offline)
        try await late.waitConnected()
        try await Task.sleep(for: .milliseconds(300))
        #expect(late.received.isEmpty)
        await a.close()
        await late.close()
    }

    /// 20,000 WebSocket pings: after the burst the session is closed with RATE_LIMITED, cheaply (before: 1.4 s of
    /// server CPU, the connection kept).
    @Test func webSocketPingsCountAgainstTheFrameRate() async throws {
        let server = try ServerProcess(listen: ["ws://127.0.0.1:0"])
        let ws = server.url("ws")
        let socket = try SourceBoundWebSocket(source: "127.0.0.1", port: port(ws))
        #expect(try socket.upgrade().status == 101)
        guard case .challenge? = socket.readServerFrame()?.frame else { throw Timeout(description: "no challenge") }
        let before = try cpuSeconds(server.process.processIdentifier)
        let ping = SourceBoundWebSocket.frame(opcode: 0x9, [])
        socket.send(Array([[UInt8]](repeating: ping, count: 20_000).joined()))
        var error: ErrorCode?
        while let frame = socket.readServerFrame() {
            if case .error(let e)? = frame.frame { error = e.code }
        }
        #expect(error == .rateLimited)
        try await Task.sleep(for: .milliseconds(500))
        let spent = try cpuSeconds(server.process.processIdentifier) - before
        #expect(spent < 0.3, "server used \(spent) s of CPU on 20,000 pings")
    }
}

private func port(_ url: String) -> Int { Int(url.split(separator: ":").last!)! }

/// Plain TCP connections held open by a Python helper (they cost the server a descriptor each until released).
final class HeldSockets: Sendable {
    private let holder = Process()
    private let input = Pipe()

    init(counts: [(port: Int, count: Int)]) throws {
        let script = """
            import socket, sys
            held = []
            for port, count in [\(counts.map { "(\($0.port), \($0.count))" }.joined(separator: ", "))]:
                for _ in range(count):
                    try: held.append(socket.create_connection(("127.0.0.1", port), timeout=5))
                    except OSError: pass
            print("held", len(held), flush=True)
            sys.stdin.readline()
            """
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        holder.arguments = ["-c", script]
        let out = Pipe()
        holder.standardOutput = out
        holder.standardInput = input
        try holder.run()
        let line = String(decoding: out.fileHandleForReading.availableData, as: UTF8.self)
        guard line.hasPrefix("held") else { throw Timeout(description: "holder: \(line)") }
    }

    /// Closes them all (the helper exits).
    func release() {
        guard holder.isRunning else { return }
        input.fileHandleForWriting.write(Data("go\n".utf8))
        holder.waitUntilExit()
    }
}
