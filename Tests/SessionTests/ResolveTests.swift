import Foundation
import Testing
import TestSupport

/// wg-ice-resolve on side B (stock wg-quick, no hook) against a normal wg-ice-hook session on side A, through a
/// real wg-ice-signal, with wireguard-go; coturn for the relayed case.
@Suite(.serialized, .tags(.integration)) struct ResolveTests {
    @Test func resolvesPrintsJSONAndAppliesAPathThatOutlivesTheProcess() async throws {
        let lab = try await offPool { try Lab(scheme: "ws", hookOnB: false) }
        defer { lab.destroy() }
        try await up(lab, lab.a, lab.b)
        let keyA = try await publicKey(lab, lab.a)
        let b = lab.b.interface, config = lab.b.config

        // Without --apply: one line, a direct host pair on the LAN, nothing changed on B.
        let plain = try await lab.exec(lab.b, "(wg-ice-resolve \(b) --config \(config) 2>/dev/null)")
        #expect(plain.status == 0, "\(plain.output)")
        let fields = plain.output.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\t").map(String.init)
        #expect(fields.count == 6 && fields[0] == keyA, "\(plain.output)")
        #expect(fields.count == 6 && fields[1].hasPrefix("10.77.0.1:") && fields[2] == "host" && fields[3] == "host"
                && fields[4] == "udp" && fields[5] == "resolved", "\(plain.output)")
        #expect(try await endpoint(lab, lab.b) == "(none)")
        #expect(try await lab.exec(lab.b, "nft list tables").output.isEmpty)

        let json = try await lab.exec(lab.b, "(wg-ice-resolve \(b) \(keyA) --config \(config) --json 2>/dev/null)")
        #expect(json.status == 0, "\(json.output)")
        let report = try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any]
        let peer = (report?["peers"] as? [[String: Any]])?.first
        #expect(report?["interface"] as? String == b)
        #expect(peer?["publicKey"] as? String == keyA && peer?["result"] as? String == "resolved", "\(json.output)")
        #expect(peer?["localType"] as? String == "host" && (peer?["endpoint"] as? String)?.hasPrefix("10.77.0.1:") == true)

        // --apply: WireGuard points at the pair, the kernel redirection stays, and the process is gone.
        let applied = try await lab.exec(lab.b, "(wg-ice-resolve \(b) --config \(config) --apply 2>/dev/null)")
        #expect(applied.status == 0, "\(applied.output)")
        let appliedFields = applied.output.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\t").map(String.init)
        #expect(appliedFields.last == "applied", "\(applied.output)")
        #expect(try await endpoint(lab, lab.b) == appliedFields[1], "WireGuard endpoint is not the resolved one")
        // In B's namespace only: other suites run wg-ice-resolve in theirs meanwhile, and PIDs are shared.
        let stillRunning = "pgrep -x wg-ice-resolve | while read p; do [ \"$(ip netns identify $p)\" = \(lab.b.ns.name) ] && echo $p; done | grep -q ."
        #expect(try await lab.exec(lab.b, stillRunning).status != 0, "wg-ice-resolve still running")
        let pinged = try await eventually(seconds: 15) {
            try await lab.exec(lab.b, "ping -c 1 -W 1 \(lab.a.tunnelAddress)").status == 0
        }
        let state = pinged ? "" : try await lab.exec(lab.b, "wg show; nft list ruleset").output
        #expect(pinged, "no ping through the tunnel after wg-ice-resolve --apply exited: \(state)")

        // Nobody answers A's consent checks any more: A's agent gives the pair up (consent freshness) and restarts,
        // but its data path and B's redirection carry on.
        let consentGone = try await eventually(seconds: 60) {
            !["connected", "ready"].contains(try await iceState(lab, lab.a) ?? "")
        }
        #expect(consentGone, "A's agent still reports consent from a process that exited")
        let stillPinging = try await lab.exec(lab.b, "ping -c 3 -W 1 \(lab.a.tunnelAddress)")
        #expect(stillPinging.status == 0, "tunnel broke once A's consent expired: \(stillPinging.output)")

        // Applying again replaces the peer's chains instead of adding a second, conflicting pair of them.
        // A is restarting with backoff by now; give a loaded machine time.
        let again = try await lab.exec(lab.b, "(wg-ice-resolve \(b) --config \(config) --timeout 30s --apply 2>/dev/null)")
        #expect(again.status == 0, "\(again.output)")
        let chains = try await lab.exec(lab.b, "nft list table inet wg-ice-\(b)").output
            .split(separator: "\n").filter { $0.contains("chain out-") || $0.contains("chain in-") }
        #expect(chains.count == 2, "\(chains)")
        let pingedAgain = try await eventually(seconds: 15) {
            try await lab.exec(lab.b, "ping -c 1 -W 1 \(lab.a.tunnelAddress)").status == 0
        }
        #expect(pingedAgain, "no ping after the second --apply")

        // PreDown's `wg-ice-hook down` without a session removes what --apply left.
        #expect(try await lab.exec(lab.b, "wg-ice-hook down \(b)").status == 0)
        #expect(try await lab.exec(lab.b, "nft list tables").output.isEmpty, "wg-ice-hook down left the table")
        #expect(try await lab.exec(lab.b, "(wg-ice-resolve \(b) --config \(config) --apply 2>/dev/null)").status == 0)

        // While a session runs on an interface, wg-ice-resolve leaves it alone.
        let busy = try await lab.exec(lab.a, "wg-ice-resolve \(lab.a.interface) --config \(lab.a.config) --apply")
        #expect(busy.status == 2 && busy.output.contains("session is running"), "\(busy.output)")

        // A session started on B takes over: the redirection wg-ice-resolve left is replaced, not doubled.
        #expect(try await lab.exec(lab.b, "wg-ice-hook up \(b) --config \(config)").status == 0)
        let sessionPinged = try await eventually(seconds: 20) {
            let status = try await lab.exec(lab.b, "wg-ice-hook status \(b) --json").output
            guard status.contains("kernel-redirect") else { return false }
            return try await lab.exec(lab.b, "ping -c 1 -W 1 \(lab.a.tunnelAddress)").status == 0
        }
        #expect(sessionPinged, "no ping through B's own session")
        let rules = try await lab.exec(lab.b, "nft list table inet wg-ice-\(b)").output
        #expect(rules.split(separator: "\n").filter { $0.contains("counter") }.count == 2, "\(rules)")
    }

    @Test func usageErrorsExitTwoChangeNothingAndAMissingPeerTimesOut() async throws {
        let lab = try await offPool { try Lab(scheme: "grpc", hookOnB: false) }
        defer { lab.destroy() }
        // Only B is up: A runs no session at all.
        try await up(lab, lab.b)
        let b = lab.b.interface, config = lab.b.config
        let stranger = try await offPool {
            try runChecked(["wg", "pubkey"], input: try runChecked(["wg", "genkey"]).stdout).stdout
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let bad = lab.directory.appendingPathComponent("bad.conf").path
        let text = try String(contentsOfFile: config, encoding: .utf8)
            .replacingOccurrences(of: "ListenPort = 51820", with: "ListenPort = many")
        try text.write(toFile: bad, atomically: true, encoding: .utf8)
        let badLine = text.split(separator: "\n", omittingEmptySubsequences: false)
            .firstIndex { $0.hasPrefix("ListenPort") }! + 1

        let refusals: [(String, String)] = [
            ("\(b) \(stranger) --config \(config) --apply", "is not a peer of \(b)"),
            ("\(b) not-a-key --config \(config) --apply", "not a WireGuard public key"),
            ("\(b) --config \(bad) --apply", "\(bad):\(badLine):"),
            ("\(b) --config \(config) --timeout soon --apply", "--timeout soon"),
            ("\(b) --config \(config) --no-such-option", "no-such-option"),
            ("nosuchwg0 --config \(config) --apply", "nosuchwg0"),
        ]
        for (arguments, message) in refusals {
            let result = try await lab.exec(lab.b, "wg-ice-resolve \(arguments)")
            #expect(result.status == 2, "wg-ice-resolve \(arguments): \(result.output)")
            #expect(result.output.contains(message), "wg-ice-resolve \(arguments): \(result.output)")
        }
        #expect(try await endpoint(lab, lab.b) == "(none)")
        #expect(try await lab.exec(lab.b, "nft list tables").output.isEmpty)

        let timedOut = try await lab.exec(lab.b, "(wg-ice-resolve \(b) --config \(config) --timeout 2s --apply 2>/dev/null)")
        #expect(timedOut.status == 1, "\(timedOut.output)")
        #expect(timedOut.output.hasSuffix("\t(none)\t(none)\t(none)\t(none)\tfailed\n"), "\(timedOut.output)")
        #expect(try await endpoint(lab, lab.b) == "(none)")
    }

    @Test func aRelayedResultIsReportedNotAppliedAndExitsThree() async throws {
        // CandidateTypes filters the peer's candidates too, so A needs the TURN server as well.
        let turnSettings = ["URLs = turn:10.77.0.1:3478?transport=udp", "Username = \(Turnserver.user)",
                            "Password = \(Turnserver.password)"]
        let lab = try await offPool {
            try Lab(scheme: "ws", hookOnB: false, iceOnA: turnSettings, iceOnB: turnSettings + ["CandidateTypes = relay"])
        }
        defer { lab.destroy() }
        let turn = try await offPool { try Turnserver(in: lab.a.ns, address: "10.77.0.1") }
        defer { turn.stop() }
        try await up(lab, lab.a, lab.b)

        let result = try await lab.exec(lab.b, "(wg-ice-resolve \(lab.b.interface) --config \(lab.b.config) --apply 2>/dev/null)")
        #expect(result.status == 3, "\(result.output)")
        let fields = result.output.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\t").map(String.init)
        #expect(fields.count == 6 && fields[2] == "relay" && fields[5] == "not-applied", "\(result.output)")
        #expect(try await endpoint(lab, lab.b) == "(none)")
        #expect(try await lab.exec(lab.b, "nft list tables").output.isEmpty)
    }
}

private func up(_ lab: Lab, _ sides: Lab.Side...) async throws {
    for side in sides {
        let result = try await lab.exec(side, "wg-quick up \(side.config)")
        #expect(result.status == 0, "wg-quick up: \(result.output)")
    }
}

private func publicKey(_ lab: Lab, _ side: Lab.Side) async throws -> String {
    try await lab.exec(side, "wg show \(side.interface) public-key").output.trimmingCharacters(in: .whitespacesAndNewlines)
}

/// WireGuard's endpoint for the side's only peer, as `wg show` prints it.
private func endpoint(_ lab: Lab, _ side: Lab.Side) async throws -> String {
    let line = try await lab.exec(side, "wg show \(side.interface) endpoints").output
    return String(line.split(separator: "\t").last ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
}

private func iceState(_ lab: Lab, _ side: Lab.Side) async throws -> String? {
    let text = try await lab.exec(side, "wg-ice-hook status \(side.interface) --json").output
    let json = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
    return (json?["peers"] as? [[String: Any]])?.first?["iceState"] as? String
}
