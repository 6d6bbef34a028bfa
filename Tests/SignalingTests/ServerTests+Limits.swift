import Keys
import Foundation
import Signaling
import Testing
import TestSupport

/// Descriptor exhaustion, per-address limits, floods of throwaway keys, held envelopes, ping floods, against the real server.
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
        // TCP connections per address: the 21st is told why instead of being served.
        let plain = try (0..<20).map { _ in try SourceBoundWebSocket(source: "127.0.0.50", port: port(ws)) }
        // Answered, so counted (connections are set up on several event loops, not in order of arrival).
        for socket in plain { #expect(try socket.get("/healthz").status == 200) }
        let twentyFirst = try SourceBoundWebSocket(source: "127.0.0.50", port: port(ws)).upgrade()
        #expect(twentyFirst.status == 503 && twentyFirst.body.hasPrefix("SERVER_FULL: too many connections from this address"), "\(twentyFirst)")
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
        #expect(!server.log.contains("Error handling upgrade result"), "a log line per refused upgrade")
        // Every 503 counted, by the limit that made it: the 21st connection, the unauthenticated fifth, the flood's.
        #expect(metrics.contains("wg_ice_signal_connections_refused_total{reason=\"per_address\"} 1\n"), "\(metrics)")
        #expect(metrics.contains("wg_ice_signal_connections_refused_total{reason=\"unauthenticated_per_address\"} 1\n"), "\(metrics)")
        #expect(metrics.contains("wg_ice_signal_connections_refused_total{reason=\"server_full\"} \(full.count)\n"), "\(metrics)")
        await a.close()
        await b.close()
        withExtendedLifetime((plain, waiting, flood)) {}
    }

    /// 300 sessions from one address against a limit of 256: the 44 over it were closed as soon as accepted, so
    /// their clients were not told why, and they were neither counted nor logged. Now connections over the limit
    /// are answered (503 with Retry-After and the reason on WebSocket, SERVER_FULL on gRPC) up to the overflow
    /// (16 here), any more are closed at accept, all are counted under reason "per_address", and the log has one
    /// line for the first refusal of an address and one per interval with the count, not a line each.
    @Test func connectionsOverTheAddressLimitAreToldWhyCountedAndLogged() async throws {
        let server = try ServerProcess(listen: ["ws://127.0.0.1:0", "grpc://127.0.0.1:0"],
                                       extra: ["--max-connections-per-address", "20", "--max-unauthenticated-per-address", "20",
                                               "--auth-timeout", "60", "--idle-timeout", "60"])
        let ws = server.url("ws")
        let sessions = try (0..<20).map { _ in try SourceBoundWebSocket(source: "127.0.0.60", port: port(ws)) }
        for socket in sessions {
            #expect(try socket.upgrade().status == 101)
            guard case .subscribed? = try socket.authenticate(key: .generate(), url: ws)?.frame else { throw Timeout(description: "not subscribed") }
        }
        // Ten more at once, as a client opening its sessions together: each hears why.
        let over = try (0..<10).map { _ in try SourceBoundWebSocket(source: "127.0.0.60", port: port(ws)) }
        for socket in over {
            let (status, body) = try socket.upgrade()
            #expect(status == 503 && body == "SERVER_FULL: too many connections from this address, retry later\n", "\(status) \(body)")
            #expect(socket.lastHead.contains("\r\nRetry-After: 5\r\n"), "\(socket.lastHead)")
        }
        // Twenty more, all accepted before any asks: sixteen fill the overflow for the grace time (5 s) and are
        // answered, four are closed at accept (which ones depends on the order the event loops accept them).
        func refusedPerAddress() throws -> Int? {
            let metrics = try SourceBoundWebSocket(source: "127.0.0.2", port: port(ws)).get("/metrics").body
            return metrics.split(separator: "\n").first { $0.hasPrefix("wg_ice_signal_connections_refused_total{reason=\"per_address\"} ") }
                .flatMap { Int($0.split(separator: " ")[1]) }
        }
        let extra = try (0..<20).map { _ in try SourceBoundWebSocket(source: "127.0.0.60", port: port(ws)) }
        try await waitUntil(timeout: 3, "twenty more accepted") { (try? refusedPerAddress()) == 30 }
        let statuses = try extra.map { try $0.upgrade().status }
        #expect(statuses.sorted() == [0, 0, 0, 0] + [Int](repeating: 503, count: 16), "\(statuses)")
        // gRPC: the call on a connection over the limit gets SERVER_FULL instead of the challenge.
        let plain = try (0..<20).map { _ in try SourceBoundWebSocket(source: "127.0.0.1", port: port(ws)) }
        for socket in plain { #expect(try socket.get("/healthz").status == 200) }
        let refused = try await rawGRPC(server.url("grpc")) { _ in [] }
        #expect(refused.error == .serverFull, "\(refused.frames)")
        #expect(refused.frames.first.map { "\($0)" }?.contains("too many connections from this address") == true, "\(refused.frames)")
        // All counted (10 + 20 from 127.0.0.60 above, exactly), and the gRPC connection from 127.0.0.1 (one, or
        // a few if the refused client connected again before it shut down: its connection is closed after 5 s).
        let perAddress = try refusedPerAddress() ?? 0
        #expect((31...34).contains(perAddress), "\(perAddress)")
        // Logged: the first refusal of each address at once, then per address one line for the interval (10 s).
        let first = "refusing connection: too many connections from this address"
        #expect(server.log.components(separatedBy: first).count - 1 == 2, "\(server.log)")
        try await waitUntil(timeout: 20, "the interval's report") { server.log.contains("refused=29") }
        let lines = server.log.split(separator: "\n").filter { $0.contains("source=127.0.0.60") }
        #expect(lines.count == 2, "\(lines)")
        // Nor a line per refused upgrade from hummingbird-websocket (before: "Error handling upgrade result" each).
        #expect(!server.log.contains("Error handling upgrade result"), "\(server.log)")
        withExtendedLifetime((sessions, over, extra, plain)) {}
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
