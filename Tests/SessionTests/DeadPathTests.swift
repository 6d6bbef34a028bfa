import Foundation
import Testing
import TestSupport

/// A path that passes ICE's STUN checks but not WireGuard's packets: only `HandshakeTimeout` can see it
/// is dead. The session must restart ICE (signalled to the peer), and the tunnel must come back once the
/// path carries WireGuard again.
@Suite(.serialized, .tags(.integration)) struct DeadPathTests {
    @Test func staleHandshakeWhileSendingRestartsICE() async throws {
        let lab = try await offPool { try Lab(scheme: "ws", settings: ["HandshakeTimeout = 3s"]) }
        defer { lab.destroy() }
        for side in [lab.a, lab.b] {
            let up = try await lab.exec(side, "wg-quick up \(side.config)")
            #expect(up.status == 0, "wg-quick up: \(up.output)")
        }
        let ping = "ping -c 1 -W 1 \(lab.b.tunnelAddress)"
        #expect(try await eventually(seconds: 30) { try await lab.exec(lab.a, ping).status == 0 }, "tunnel never came up")
        #expect(try await restarts(lab) == 0)

        // Every UDP packet into A that is not STUN is dropped: WireGuard hears nothing, ICE consent still does.
        let dropNonSTUN = "nft add table inet labdrop && "
            + "nft 'add chain inet labdrop in { type filter hook input priority 100; }' && "
            + "nft 'add rule inet labdrop in udp dport 1-65535 @th,96,32 != 0x2112a442 drop'"
        let dropped = try await lab.exec(lab.a, dropNonSTUN)
        #expect(dropped.status == 0, "\(dropped.output)")
        // Traffic keeps WireGuard sending (data, then handshake initiations) while nothing comes back.
        let restarted = try await eventually(seconds: 40) {
            _ = try await lab.exec(lab.a, ping)
            return try await restarts(lab) > 0
        }
        let state = restarted ? "" : try await lab.exec(lab.a, "wg show; wg-ice-hook status").output
        #expect(restarted, "no ICE restart for a path that carries no WireGuard packets: \(state)")

        try await lab.exec(lab.a, "nft delete table inet labdrop")
        let recovered = try await eventually(seconds: 40) { try await lab.exec(lab.a, ping).status == 0 }
        #expect(recovered, "tunnel did not recover after the path carried WireGuard again")
        let status = try await lab.exec(lab.a, "wg-ice-hook status \(lab.a.interface) --json")
        #expect(status.output.contains("\"iceState\""), "\(status.output)")
    }

    private func restarts(_ lab: Lab) async throws -> Int {
        let text = try await lab.exec(lab.a, "wg-ice-hook status \(lab.a.interface) --json").output
        let json = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
        return (json?["peers"] as? [[String: Any]])?.first?["restarts"] as? Int ?? -1
    }
}
