import Foundation
import Testing
import TestSupport

/// What wg-ice-resolve says on stderr, and how long it takes, when something is wrong: the real binary.
/// The first two need no root, no namespace and no WireGuard.
@Suite struct ResolveMessageTests {
    @Test func aMissingOrNonWireGuardInterfaceIsSaidSo() async throws {
        let config = try temporaryConfig(signaling: "ws://127.0.0.1:9")
        defer { try? FileManager.default.removeItem(atPath: config) }
        let missing = String("nowg\(uniqueSuffix())".prefix(15))
        let cases = [(missing, "interface \(missing) does not exist"), ("lo", "lo is not a WireGuard interface")]
        for (interface, expected) in cases {
            let result = try await offPool { try run([builtProduct("wg-ice-resolve"), interface, "--config", config]) }
            #expect(result.status == 2, "\(interface): \(result.stderr)")
            #expect(result.stderr == expected + "\n", "\(interface): \(result.stderr)")
            #expect(result.stdout.isEmpty)
        }
    }

    @Test func aBadSignalingURLIsTheOnlyMessage() async throws {
        let config = try temporaryConfig(signaling: "ws//no-colon")
        defer { try? FileManager.default.removeItem(atPath: config) }
        let result = try await offPool { try run([builtProduct("wg-ice-resolve"), "lo", "--config", config]) }
        #expect(result.status == 2, "\(result.stderr)")
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].hasPrefix("\(config):6: Signaling `ws//no-colon' is not a signaling URL"),
                "\(result.stderr)")
    }

    /// B has a TURN server (so its agent holds an allocation to release when it ends) and its peer A no session:
    /// B's run times out. Then B with a signaling URL nobody listens on, and last a run that succeeds.
    @Test(.tags(.integration)) func timeoutsAndUnreachableSignalingNameTheProblemAndSuccessIsQuiet() async throws {
        let turnSettings = ["URLs = turn:10.77.0.1:3478?transport=udp", "Username = \(Turnserver.user)",
                            "Password = \(Turnserver.password)"]
        let lab = try await offPool { try Lab(scheme: "ws", hookOnB: false, iceOnB: turnSettings) }
        defer { lab.destroy() }
        let turn = try await offPool { try Turnserver(in: lab.a.ns, address: "10.77.0.1") }
        defer { turn.stop() }
        #expect(try await lab.exec(lab.b, "wg-quick up \(lab.b.config)").status == 0)
        let b = lab.b.interface, config = lab.b.config
        let keyA = try await lab.exec(lab.b, "wg show \(b) peers").output.trimmingCharacters(in: .whitespacesAndNewlines)

        // No answer: stderr names the peer and the state its agent reached; the run ends with the timeout, not
        // after waiting out the TURN deallocation's retransmissions (2 s when its answer went unread).
        let timedOut = try await timed(lab, "wg-ice-resolve \(b) --config \(config) --timeout 2s")
        #expect(timedOut.status == 1, "\(timedOut.stderr)")
        #expect(timedOut.stderr == "\(keyA): no pair within 2s: ICE state gathering: no usable candidate from the "
                + "peer (does it run a wg-ice session with the same Signaling?)\n", "\(timedOut.stderr)")
        #expect(timedOut.seconds < 3.2, "took \(timedOut.seconds) s with --timeout 2s")
        let allocations = try String(contentsOf: turn.directory.appendingPathComponent("turnserver.log"), encoding: .utf8)
        #expect(allocations.contains("ALLOCATE processed, success"), "B's agent had no TURN allocation to release")

        // Nothing listens where Signaling points: one line with the URL and the reason, then the peer's line.
        let closed = lab.directory.appendingPathComponent("closed.conf").path
        try String(contentsOfFile: config, encoding: .utf8)
            .replacingOccurrences(of: lab.signalingURL, with: "ws://10.77.0.2:9")
            .write(toFile: closed, atomically: true, encoding: .utf8)
        let refused = try await timed(lab, "wg-ice-resolve \(b) --config \(closed) --timeout 2s")
        #expect(refused.status == 1, "\(refused.stderr)")
        let lines = refused.stderr.split(separator: "\n").map(String.init)
        #expect(lines.count == 2, "\(refused.stderr)")
        #expect(lines.first?.hasSuffix("signaling server ws://10.77.0.2:9/v1/signal: cannot connect: connection refused (retrying)") == true,
                "\(refused.stderr)")
        #expect(lines.last == "\(keyA): no pair within 2s: ICE state gathering: no signaling server connected", "\(refused.stderr)")

        // A resolved run says nothing on stderr: closing its own signaling connection is not a warning.
        #expect(try await lab.exec(lab.a, "wg-quick up \(lab.a.config)").status == 0)
        let resolved = try await timed(lab, "wg-ice-resolve \(b) --config \(config) --timeout 20s")
        #expect(resolved.status == 0, "\(resolved.stdout)\(resolved.stderr)")
        #expect(resolved.stderr.isEmpty, "\(resolved.stderr)")
    }
}

/// A configuration whose `#Signaling` is on line 6 (ListenPort 51820, one peer), in a new temporary file.
private func temporaryConfig(signaling: String) throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("resolve-\(uniqueSuffix()).conf").path
    let key = try runChecked(["wg", "genkey"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    let peer = try runChecked(["wg", "pubkey"], input: try runChecked(["wg", "genkey"]).stdout).stdout
        .trimmingCharacters(in: .whitespacesAndNewlines)
    try """
        [Interface]
        PrivateKey = \(key)
        ListenPort = 51820

        #[ICE]
        #Signaling = \(signaling)

        [Peer]
        PublicKey = \(peer)
        AllowedIPs = 10.99.0.1/32

        """.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

/// Runs `command` in B's namespace with stdout and stderr apart, timed inside the namespace (the time of
/// `ip netns exec` itself is not the command's).
private func timed(_ lab: Lab, _ command: String) async throws -> (status: Int32, stdout: String, stderr: String, seconds: Double) {
    let out = lab.directory.appendingPathComponent("out-\(uniqueSuffix())").path
    let err = lab.directory.appendingPathComponent("err-\(uniqueSuffix())").path
    let result = try await lab.exec(lab.b, "s=$(date +%s.%N); \(command) >\(out) 2>\(err); r=$?; e=$(date +%s.%N); "
                                    + "echo \"$r $s $e\"")
    let fields = result.output.split(separator: " ").map { String($0).trimmingCharacters(in: .whitespacesAndNewlines) }
    let status = fields.first.flatMap { Int32($0) } ?? -1
    let seconds = fields.count == 3 ? (Double(fields[2]) ?? 0) - (Double(fields[1]) ?? 0) : .infinity
    return (status, (try? String(contentsOfFile: out, encoding: .utf8)) ?? "",
            (try? String(contentsOfFile: err, encoding: .utf8)) ?? "", seconds)
}
