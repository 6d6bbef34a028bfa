import Foundation
import Testing
import TestSupport

/// A's STUN host does not resolve when its session starts (DNS not ready at boot): the peer's agent cannot be
/// created. The session must keep the peer, show why in `status`, and bring the tunnel up once the name
/// resolves. `ip netns exec` bind-mounts /etc/netns/NS/hosts over /etc/hosts; the name is appended to that same
/// file later, which the running session sees (same inode).
@Suite(.serialized, .tags(.integration)) struct StartRetryTests {
    @Test func aPeerWhoseAgentCannotBeCreatedIsRetriedAndShown() async throws {
        let host = "stun.retry.wg-ice.test"
        let lab = try await offPool {
            try Lab(scheme: "ws", settings: ["LogLevel = debug"], hook: false, iceOnA: ["URLs = stun:\(host):3478"])
        }
        let etc = "/etc/netns/\(lab.a.ns.name)"
        defer {
            lab.destroy()
            try? FileManager.default.removeItem(atPath: etc)
            rmdir("/etc/netns")  // only if nothing else uses it
        }
        try FileManager.default.createDirectory(atPath: etc, withIntermediateDirectories: true)
        try "".write(toFile: "\(etc)/hosts", atomically: false, encoding: .utf8)
        // No name server: lookups fail at once instead of waiting for a timeout.
        try "options timeout:1 attempts:1\n".write(toFile: "\(etc)/resolv.conf", atomically: false, encoding: .utf8)

        for side in [lab.a, lab.b] {
            let up = try await lab.exec(side, "wg-quick up \(side.config)")
            #expect(up.status == 0, "wg-quick up: \(up.output)")
            let log = lab.directory.appendingPathComponent("\(side.interface).log").path
            try await lab.exec(side, "wg-ice-hook up \(side.interface) --foreground --config \(side.config) >\(log) 2>&1 &")
        }
        struct Status: Decodable {
            struct Peer: Decodable { var iceState: String; var error: String? }
            var peers: [Peer]
        }
        func peerA() async throws -> Status.Peer? {
            let out = try await lab.exec(lab.a, "wg-ice-hook status \(lab.a.interface) --json").output
            return (try? JSONDecoder().decode(Status.self, from: Data(out.utf8)))?.peers.first
        }
        #expect(try await eventually(seconds: 10) {
            let peer = try await peerA()
            return peer?.iceState == "failed-to-start" && peer?.error?.contains(host) == true
        }, "status never showed the failed start with the host name")

        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: "\(etc)/hosts"))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("10.77.0.2 \(host)\n".utf8))
        try handle.close()

        let ping = "ping -c 1 -W 1 \(lab.b.tunnelAddress)"
        #expect(try await eventually(seconds: 45) { try await lab.exec(lab.a, ping).status == 0 },
                "tunnel never came up once the name resolved")
        let peer = try await peerA()
        #expect(peer?.error == nil && peer?.iceState != "failed-to-start", "\(String(describing: peer))")
    }
}
