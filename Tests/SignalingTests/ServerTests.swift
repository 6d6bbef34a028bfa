import Keys
import Foundation
import Signaling
import Testing
import TestSupport

/// Everything here runs against a real wg-ice-signal process over real sockets.
@Suite(.tags(.integration)) struct ServerTests {
    @Test func manyClientsOnBothTransportsGetExactlyWhatIsAddressedToThem() async throws {
        let server = try ServerProcess(listen: ["ws://127.0.0.1:0", "grpc://127.0.0.1:0"])
        let n = 24
        let peers = try (0..<n).map { try TestPeer(url: server.url($0 % 2 == 0 ? "ws" : "grpc")) }
        for p in peers { try await p.waitConnected() }
        func targets(_ i: Int) -> [Int] { [(i + 1) % n, (i + 5) % n, (i + 12) % n] }
        var expected = [[String]](repeating: [], count: n)
        for i in 0..<n {
            for (k, j) in targets(i).enumerated() {
                let sdp = "a=candidate:\(k) 1 UDP 2130706431 10.0.\(i).\(j) \(50000 + k) typ host"
                try await peers[i].channel.send(.candidate(sdp), to: peers[j].publicKey)
                expected[j].append(sdp)
            }
        }
        for j in 0..<n { try await peers[j].waitReceived(expected[j].count) }
        try await Task.sleep(for: .milliseconds(300))  // anything extra would arrive by now
        for j in 0..<n {
            let got = peers[j].received
            #expect(got.map(\.payload.candidate.sdp).sorted() == expected[j].sorted())
            #expect(Set(got.map(\.from)).isSubset(of: Set((0..<n).filter { targets($0).contains(j) }.map { peers[$0].publicKey })))
            #expect(peers[j].dropped.isEmpty)
        }
        for p in peers { await p.close() }
        #expect(server.stop() == 0)
    }

    @Test func clientWithoutTheKeyIsRefusedAndHeldMessagesWaitForTheRealOwner() async throws {
        // Long enough for a forged proof to be answered while other suites load the machine.
        let server = try ServerProcess(listen: ["ws://127.0.0.1:0", "grpc://127.0.0.1:0"], extra: ["--auth-timeout", "3"])
        let ws = server.url("ws"), grpc = server.url("grpc")
        let victim = PrivateKey.generate(), attacker = PrivateKey.generate()
        let sender = try TestPeer(url: ws)
        try await sender.waitConnected()
        try await sender.channel.send(.candidate("a=candidate:1 1 UDP 1 192.0.2.7 9 typ host"), to: victim.publicKey)
        try await Task.sleep(for: .milliseconds(200))  // the server now holds it for the offline victim

        // Claims the victim's key but can only sign with its own.
        let claimVictim: @Sendable (Wgice_Signal_V1_Challenge) throws -> ClientFrame = { challenge in
            var frame = try authFrame(challenge, key: attacker, url: ws)
            frame.auth.publicKey = Data(victim.publicKey.bytes)
            return frame
        }
        let forgedWS = try await rawWebSocket(ws) { [try claimVictim($0).bytes] }
        #expect(forgedWS.error == .authFailed)
        #expect(forgedWS.closedByServer && forgedWS.deliveries == 0)
        let forgedGRPC = try await rawGRPC(grpc) { challenge in
            var frame = try claimVictim(challenge)
            frame.auth.transport = "grpc"
            return [frame]
        }
        #expect(forgedGRPC.error == .authFailed)
        #expect(forgedGRPC.closedByServer && forgedGRPC.deliveries == 0)
        // A proof made for the WebSocket transport is refused on gRPC (transport binding).
        let crossTransport = try await rawGRPC(grpc) { [try authFrame($0, key: attacker, url: ws)] }
        #expect(crossTransport.error == .authFailed)
        // Publishing before authenticating, and saying nothing at all.
        let early = try await rawWebSocket(ws) { _ in [publishFrame(Envelope()).bytes] }
        #expect(early.error == .badFrame)
        let silent = try await rawWebSocket(ws) { _ in [] }
        #expect(silent.error == .authTimeout)

        let owner = try TestPeer(url: grpc, key: victim)
        try await owner.waitReceived(1)
        #expect(owner.received.first?.from == sender.publicKey)
        #expect(server.log.contains("AUTH_FAILED") || server.log.contains("authFailed"))
        await owner.close()
        await sender.close()
    }

    @Test func forgedTamperedAndReplayedEnvelopesAreDropped() async throws {
        let server = try ServerProcess(listen: ["ws://127.0.0.1:0", "grpc://127.0.0.1:0"])
        let ws = server.url("ws")
        let alice = try TestPeer(url: ws), bob = try TestPeer(url: server.url("grpc"))
        try await alice.waitConnected()
        try await bob.waitConnected()
        var sealer = Sealer(key: alice.key)
        let original = sealer.seal(.bye(Bye()), to: bob.publicKey)
        try await alice.channel.backend.publish(original)
        try await alice.channel.backend.publish(original)  // what a malicious server could replay
        var tampered = sealer.seal(.bye(Bye()), to: bob.publicKey)
        tampered.ciphertext[tampered.ciphertext.startIndex + 17] ^= 0x80
        try await alice.channel.backend.publish(tampered)
        // Mallory is authenticated as herself but seals with a key that is not hers.
        let mallory = try TestPeer(url: ws)
        try await mallory.waitConnected()
        var wrongKey = Sealer(key: .generate())
        var forged = wrongKey.seal(.bye(Bye()), to: bob.publicKey)
        forged.sender = Data(mallory.publicKey.bytes)
        try await mallory.channel.backend.publish(forged)
        try await waitUntil(timeout: 10, "bob sees all four") { bob.received.count + bob.dropped.count >= 4 }
        #expect(bob.received.count == 1)
        #expect(bob.dropped.sorted { "\($0)" < "\($1)" } == [.authentication, .authentication, .replayed])

        // The server itself refuses an envelope whose sender is not the authenticated key.
        var env = sealer.seal(.bye(Bye()), to: bob.publicKey)
        env.sender = Data(bob.publicKey.bytes)
        let spoof = try await rawWebSocket(ws) { [env] challenge in
            var env = env
            env.sender = Data(bob.publicKey.bytes)
            return [try authFrame(challenge, key: mallory.key, url: ws).bytes, publishFrame(env).bytes]
        }
        #expect(spoof.error == .senderMismatch)
        for p in [alice, bob, mallory] { await p.close() }
    }

    @Test func garbageOversizedAndFloodingConnectionsAreClosedAloneAndLogged() async throws {
        let server = try ServerProcess(listen: ["ws://127.0.0.1:0", "grpc://127.0.0.1:0"],
                                       extra: ["--max-message-size", "4096", "--rate", "5", "--burst", "10"])
        let ws = server.url("ws"), grpc = server.url("grpc")
        let a = try TestPeer(url: ws), b = try TestPeer(url: grpc)
        try await a.waitConnected()
        try await b.waitConnected()

        let garbage = try await rawWebSocket(ws) { _ in [[0xff, 0xff, 0xff, 0x01, 0x02]] }
        #expect(garbage.error == .badFrame && garbage.closedByServer)
        let text = try await rawWebSocket(ws, text: true) { _ in [Array("hello".utf8)] }
        #expect(text.error == .badFrame && text.closedByServer)
        let huge = try await rawWebSocket(ws) { _ in [[UInt8](repeating: 0x0a, count: 64 * 1024)] }
        #expect(huge.closedByServer && huge.deliveries == 0)
        let hugeGRPC = try await rawGRPC(grpc) { challenge in
            var big = ClientFrame()
            big.publish.envelope.ciphertext = Data(count: 64 * 1024)
            return [try authFrame(challenge, key: .generate(), url: grpc), big]
        }
        #expect(hugeGRPC.closedByServer && hugeGRPC.deliveries == 0)
        let flooder = PrivateKey.generate()
        let flood = try await rawWebSocket(ws) { challenge in
            var sealer = Sealer(key: flooder)
            let env = sealer.seal(.bye(Bye()), to: flooder.publicKey)
            return [try authFrame(challenge, key: flooder, url: ws).bytes] + (0..<40).map { publishFrame(env, id: UInt64($0)).bytes }
        }
        #expect(flood.error == .rateLimited && flood.closedByServer)

        // The well-behaved clients never noticed.
        try await a.channel.send(.candidate("a=candidate:1 1 UDP 1 192.0.2.1 1 typ host"), to: b.publicKey)
        try await b.channel.send(.candidate("a=candidate:1 1 UDP 1 192.0.2.2 2 typ host"), to: a.publicKey)
        try await a.waitReceived(1)
        try await b.waitReceived(1)
        #expect(a.seen.connects.withLock { $0 } == 1 && b.seen.connects.withLock { $0 } == 1)
        let log = server.log
        // Oversized messages are refused by the WebSocket and gRPC layers before decoding; still logged.
        #expect(log.contains("reason=transport error"), "\(log)")
        for reason in ["BAD_FRAME", "RATE_LIMITED"] { #expect(log.contains(reason) || log.contains(reason.camelCased), "log lacks \(reason)") }
        await a.close()
        await b.close()
    }

    @Test func serverRestartClientsReconnectAndQueuedMessagesGetThrough() async throws {
        var server = try ServerProcess(listen: ["ws://127.0.0.1:0", "grpc://127.0.0.1:0"])
        let ws = server.url("ws"), grpc = server.url("grpc")
        let a = try TestPeer(url: ws), b = try TestPeer(url: grpc)
        try await a.waitConnected()
        try await b.waitConnected()
        try await a.channel.send(.candidate("before"), to: b.publicKey)
        try await b.waitReceived(1)

        #expect(server.stop() == 0, "SIGTERM with clients connected must exit cleanly")
        try await a.channel.send(.candidate("while down"), to: b.publicKey)  // queued in a's backend
        server = try ServerProcess(listen: [ws, grpc])
        try await a.waitConnected(times: 2)
        try await b.waitConnected(times: 2)
        try await b.waitReceived(2)
        try await b.channel.send(.candidate("after"), to: a.publicKey)
        try await a.waitReceived(1)
        #expect(b.received.map(\.payload.candidate.sdp) == ["before", "while down"])
        #expect(a.received.map(\.payload.candidate.sdp) == ["after"])
        await a.close()
        await b.close()
        #expect(server.stop() == 0)
    }

    @Test func severalURLsPublishToAllAndDeliverOnce() async throws {
        let one = try ServerProcess(listen: ["ws://127.0.0.1:0"])
        let two = try ServerProcess(listen: ["grpc://127.0.0.1:0"])
        let urls = "\(one.url("ws")), \(two.url("grpc"))"
        let a = try TestPeer(url: urls), b = try TestPeer(url: urls)
        try await a.waitConnected(times: 2)
        try await b.waitConnected(times: 2)
        for i in 0..<3 { try await a.channel.send(.candidate("c\(i)"), to: b.publicKey) }
        try await b.waitReceived(3)
        // Each second copy reaches the checks and falls to the replay check (PROTOCOL.md §8).
        try await waitUntil(timeout: 10, "b drops the second copies") { b.dropped.count >= 3 }
        try await Task.sleep(for: .milliseconds(300))
        #expect(b.received.count == 3 && b.dropped == [.replayed, .replayed, .replayed])
        one.stop()
        try await a.channel.send(.candidate("via two only"), to: b.publicKey)
        try await b.waitReceived(4)
        #expect(b.received.last?.payload.candidate.sdp == "via two only")
        await a.close()
        await b.close()
    }

    @Test func connectionLimitAndHoldTimeAreEnforced() async throws {
        let server = try ServerProcess(listen: ["ws://127.0.0.1:0", "grpc://127.0.0.1:0"],
                                       extra: ["--max-connections", "2", "--hold-ttl", "1", "--auth-timeout", "2"])
        let ws = server.url("ws")
        let a = try TestPeer(url: ws), b = try TestPeer(url: server.url("grpc"))
        try await a.waitConnected()
        try await b.waitConnected()
        // WebSocket: refused with HTTP 503 instead of an upgrade; gRPC: SERVER_FULL instead of a challenge.
        await #expect(throws: (any Error).self) { _ = try await rawWebSocket(ws) { _ in [] } }
        let status = try run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", ws.replacingOccurrences(of: "ws://", with: "http://") + SignalProtocol.webSocketPath])
        #expect(status.stdout == "503")
        let third = try await rawGRPC(server.url("grpc")) { _ in [] }
        #expect(third.error == .serverFull)
        #expect(server.log.contains("server full"))
        let metrics = try runChecked(["curl", "-sS", ws.replacingOccurrences(of: "ws://", with: "http://") + "/metrics"]).stdout
        #expect(metrics.contains("wg_ice_signal_connections 2\n"))
        #expect(metrics.contains("wg_ice_signal_subscribed_keys 2\n"))
        // Held for an offline recipient for one second only.
        let late = PrivateKey.generate()
        try await a.channel.send(.candidate("expires"), to: late.publicKey)
        try await Task.sleep(for: .milliseconds(2500))
        await b.close()  // frees a slot
        try await Task.sleep(for: .milliseconds(300))
        let c = try TestPeer(url: ws, key: late)
        try await c.waitConnected()
        try await a.channel.send(.candidate("fresh"), to: late.publicKey)
        try await c.waitReceived(1)
        try await Task.sleep(for: .milliseconds(300))
        #expect(c.received.map(\.payload.candidate.sdp) == ["fresh"])
        await a.close()
        await c.close()
    }

    /// 1,100 sockets that never finish an HTTP request (WebSocket) or open a call (gRPC), more than the 1024
    /// descriptors systemd gives a service by default: peers keep exchanging, a new peer still gets in, and the
    /// server closes every idle socket once the idle timeout has passed.
    @Test func idleAndHalfSentSocketsNeitherLockOutPeersNorStay() async throws {
        let server = try ServerProcess(listen: ["ws://127.0.0.1:0", "grpc://127.0.0.1:0"], extra: ["--idle-timeout", "10", "--max-connections-per-address", "100000"],
                                       launcher: ["/usr/bin/prlimit", "--nofile=1024:20000"])
        let ws = server.url("ws"), grpc = server.url("grpc")
        let a = try TestPeer(url: ws), b = try TestPeer(url: grpc)
        try await a.waitConnected()
        try await b.waitConnected()
        let port = { (url: String) in url.split(separator: ":").last.map(String.init)! }
        let script = """
            import socket, select, sys, time
            held = []
            for port, count, greeting in ((\(port(ws)), 700, b"GET /v1/signal HTTP/1.1\\r\\nHost: x\\r\\n"), (\(port(grpc)), 400, b"")):
                for _ in range(count):
                    s = socket.create_connection(("127.0.0.1", port), timeout=5)
                    held.append(s)
                    try:
                        if greeting: s.sendall(greeting)
                    except OSError: pass  # already closed by the server: counted below
            print("held", len(held), flush=True)
            sys.stdin.readline()
            poller, by_fd = select.poll(), {s.fileno(): s for s in held}
            for fd in by_fd: poller.register(fd, select.POLLIN)
            deadline, closed = time.time() + 25, 0
            while closed < len(held) and time.time() < deadline:
                for fd, _ in poller.poll(500):
                    try: data = by_fd[fd].recv(4096)
                    except OSError: data = b""
                    if data == b"":
                        poller.unregister(fd)
                        closed += 1
            print("closed", closed, flush=True)
            """
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        holder.arguments = ["-c", script]
        let out = Pipe(), input = Pipe(), errors = Pipe()
        holder.standardOutput = out
        holder.standardInput = input
        holder.standardError = errors
        try holder.run()
        defer {
            kill(holder.processIdentifier, SIGKILL)
            reap(holder)
        }
        // Reads may split a line: keep the whole text.
        let output = Locked("")
        out.fileHandleForReading.readabilityHandler = { h in
            let text = String(decoding: h.availableData, as: UTF8.self)
            output.withLock { $0 += text }
        }
        do {
            try await waitUntil(timeout: 30, "the idle sockets to be held") { output.withLock { $0 }.contains("held 1100\n") }
        } catch {
            kill(holder.processIdentifier, SIGKILL)
            Issue.record("holder: \(output.withLock { $0 }) \(String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))")
            throw error
        }
        for i in 0..<5 { try await a.channel.send(.candidate("while held \(i)"), to: b.publicKey) }
        try await b.waitReceived(5)
        let c = try TestPeer(url: ws)
        try await c.waitConnected()
        try await c.channel.send(.candidate("newcomer"), to: a.publicKey)
        try await a.waitReceived(1)
        input.fileHandleForWriting.write(Data("go\n".utf8))
        try await waitUntil(timeout: 40, "the server to close the idle sockets") { output.withLock { $0.contains("closed ") && $0.hasSuffix("\n") } }
        #expect(output.withLock { $0 }.contains("closed 1100\n"), "\(output.withLock { $0 })")
        await a.close()
        await b.close()
        await c.close()
    }

    @Test func tlsTransportsAndHealthEndpoint() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wg-ice-tls-\(uniqueSuffix())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let cert = dir.appendingPathComponent("cert.pem").path, key = dir.appendingPathComponent("key.pem").path
        try runChecked(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                        "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=localhost",
                        "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        let server = try ServerProcess(listen: ["wss://127.0.0.1:0", "grpcs://127.0.0.1:0"], extra: ["--tls-cert", cert, "--tls-key", key])
        var options = fastOptions()
        options.caFile = cert
        let wss = server.url("wss").replacingOccurrences(of: "127.0.0.1", with: "localhost")
        let grpcs = server.url("grpcs").replacingOccurrences(of: "127.0.0.1", with: "localhost")
        let a = try TestPeer(url: wss, options: options), b = try TestPeer(url: grpcs, options: options)
        try await a.waitConnected()
        try await b.waitConnected()
        try await a.channel.send(.candidate("over tls"), to: b.publicKey)
        try await b.waitReceived(1)
        let health = try runChecked(["curl", "-sS", "--cacert", cert, wss.replacingOccurrences(of: "wss://", with: "https://") + "/healthz"])
        #expect(health.stdout == "ok\n")
        await a.close()
        await b.close()
    }
}

extension String {
    /// BAD_FRAME -> badFrame, the Swift spelling of a protobuf enum case.
    var camelCased: String {
        let parts = lowercased().split(separator: "_")
        return parts.enumerated().map { $0.offset == 0 ? String($0.element) : $0.element.capitalized }.joined()
    }
}

@Suite(.tags(.integration)) struct ClientRobustnessTests {
    /// A listener that accepts TCP connections, counts them and never says a word.
    @Test(arguments: ["ws", "grpc"])
    func silentServerIsAbandonedAndRetried(scheme: String) async throws {
        let script = """
        import socket, sys
        s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16)
        print(s.getsockname()[1], flush=True)
        held = []
        while True:
            c, _ = s.accept(); held.append(c); print("accept", flush=True)
        """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", script]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        defer {
            kill(process.processIdentifier, SIGKILL)
            reap(process)
        }
        let lines = Locked([String]())
        out.fileHandleForReading.readabilityHandler = { h in
            let text = String(decoding: h.availableData, as: UTF8.self)
            lines.withLock { $0 += text.split(separator: "\n").map(String.init) }
        }
        try await waitUntil(timeout: 10, "fake server port") { !lines.withLock { $0 }.isEmpty }
        let port = lines.withLock { $0[0] }
        var options = fastOptions()
        options.handshakeTimeout = .milliseconds(500)
        let peer = try TestPeer(url: "\(scheme)://127.0.0.1:\(port)", options: options)
        try await waitUntil(timeout: 15, "three connection attempts") { lines.withLock { $0.filter { $0 == "accept" }.count } >= 3 }
        try await Task.sleep(for: .seconds(1))
        #expect(peer.seen.connects.withLock { $0 } == 0)
        await peer.close()
    }
}
