import Foundation
import Testing
import TestSupport

/// Both sessions stop and start again: B's bye, held by the server while A was gone, reaches A's new session
/// before B's new credentials. It concerns a process A's new agent never talked to, so A must ignore it
/// rather than throw away the exchange with B's new process.
@Suite(.serialized, .tags(.integration)) struct StaleByeTests {
    @Test func aHeldByeFromThePeersPreviousProcessIsIgnored() async throws {
        let lab = try await offPool { try Lab(scheme: "ws", settings: ["LogLevel = debug"], hook: false) }
        defer { lab.destroy() }
        for side in [lab.a, lab.b] {
            let up = try await lab.exec(side, "wg-quick up \(side.config)")
            #expect(up.status == 0, "wg-quick up: \(up.output)")
        }
        func start(_ side: Lab.Side, log: String) async throws {
            let path = lab.directory.appendingPathComponent(log).path
            try await lab.exec(side, "wg-ice-hook up \(side.interface) --foreground --config \(side.config) >\(path) 2>&1 &")
        }
        let ping = "ping -c 1 -W 1 \(lab.b.tunnelAddress)"
        try await start(lab.a, log: "a1.log")
        try await start(lab.b, log: "b1.log")
        #expect(try await eventually(seconds: 30) { try await lab.exec(lab.a, ping).status == 0 }, "tunnel never came up")
        // The first ping can pass before B's session has its own path (WireGuard answers the initiation from
        // where it came; wg-ice-wireguard does so within milliseconds): A's bye would then meet B's session mid-way,
        // and B's next bye or credentials would differ from the scenario. Both sessions ready first.
        func ready(_ log: String) -> Bool {
            ((try? String(contentsOf: lab.directory.appendingPathComponent(log), encoding: .utf8)) ?? "").contains("ICE ready")
        }
        #expect(try await eventually(seconds: 30) { ready("a1.log") && ready("b1.log") }, "a session never got ready")

        // A's session ends without a bye (killed), then B's says bye: it finds no subscriber and is held for A's
        // next session. Were A's session to say bye first, B's would start over and could send new credentials
        // (held too, and ahead of its bye) before its own down: a race the scenario is not about.
        let killed = try await lab.exec(lab.a, "kill -KILL $(cat /run/wg-ice/\(lab.a.interface).pid)")
        #expect(killed.status == 0, "kill: \(killed.output)")
        let down = try await lab.exec(lab.b, "wg-ice-hook down \(lab.b.interface)")
        #expect(down.status == 0, "down: \(down.output)")
        try await start(lab.a, log: "a2.log")
        try await start(lab.b, log: "b2.log")
        #expect(try await eventually(seconds: 30) { try await lab.exec(lab.a, ping).status == 0 }, "tunnel did not come back")

        let log = (try? String(contentsOf: lab.directory.appendingPathComponent("a2.log"), encoding: .utf8)) ?? ""
        #expect(log.contains("ignored a bye from a peer process this agent did not talk to"), "\(log)")
        #expect(!log.contains("peer said bye"), "\(log)")
    }
}
