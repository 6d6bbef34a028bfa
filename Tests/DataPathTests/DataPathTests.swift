import Foundation
import Testing
import TestSupport

/// Two namespaces joined by a link (la0/lb0: libnice ignores veth* names), a wireguard-go interface in each,
/// and a `datapath-peer` (ICE agent + data path) per namespace with the candidates exchanged by the test.
final class Lab: Sendable {
    let a: NetNS, b: NetNS
    let wgA: String, wgB: String
    let keyA: String, keyB: String

    /// With `nat`, A sits behind a router namespace that masquerades (A 192.168.10.2 → R → B 203.0.113.2), so
    /// B only reaches A through the NAT mapping ICE punched (a peer-reflexive candidate).
    let router: NetNS?

    /// B's address as A sees it.
    var addressB: String { router == nil ? "192.168.77.2" : "203.0.113.2" }

    init(nat: Bool = false) throws {
        a = try NetNS(prefix: "dpa")
        b = try NetNS(prefix: "dpb")
        router = nat ? try NetNS(prefix: "dpr") : nil
        do {
            if let router {
                try a.exec(["ip", "link", "add", "la0", "type", "veth", "peer", "name", "ra0", "netns", router.name])
                try router.exec(["ip", "link", "add", "rb0", "type", "veth", "peer", "name", "lb0", "netns", b.name])
                try a.exec(["ip", "addr", "add", "192.168.10.2/24", "dev", "la0"])
                try router.exec(["ip", "addr", "add", "192.168.10.1/24", "dev", "ra0"])
                try router.exec(["ip", "addr", "add", "203.0.113.1/24", "dev", "rb0"])
                try b.exec(["ip", "addr", "add", "203.0.113.2/24", "dev", "lb0"])
                for link in ["ra0", "rb0"] { try router.exec(["ip", "link", "set", link, "up"]) }
                try router.exec(["sysctl", "-qw", "net.ipv4.ip_forward=1"])
                // Masquerade towards B; unsolicited packets from B are dropped (a conntrack entry they left
                // would make the masquerade pick another port).
                try router.exec(["nft", "-f", "-"], input: """
                    table ip nat {
                        chain postrouting { type nat hook postrouting priority srcnat; oifname "rb0" masquerade; }
                        chain input { type filter hook input priority filter; iifname "rb0" ct state new drop; }
                        chain forward { type filter hook forward priority filter; iifname "rb0" ct state new drop; }
                    }
                    """)
            } else {
                try a.exec(["ip", "link", "add", "la0", "type", "veth", "peer", "name", "lb0", "netns", b.name])
                try a.exec(["ip", "addr", "add", "192.168.77.1/24", "dev", "la0"])
                try b.exec(["ip", "addr", "add", "192.168.77.2/24", "dev", "lb0"])
            }
            try a.exec(["ip", "link", "set", "la0", "up"])
            try b.exec(["ip", "link", "set", "lb0", "up"])
            if router != nil { try a.exec(["ip", "route", "add", "default", "via", "192.168.10.1"]) }
            wgA = try a.addWireGuardGo(prefix: "dpw")
            wgB = try b.addWireGuardGo(prefix: "dpw")
            let privateA = try runChecked(["wg", "genkey"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let privateB = try runChecked(["wg", "genkey"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            keyA = try runChecked(["wg", "pubkey"], input: privateA).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            keyB = try runChecked(["wg", "pubkey"], input: privateB).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            for (ns, wg, key, peer, address, peerAddress) in [(a, wgA, privateA, keyB, "10.77.0.1", "10.77.0.2"),
                                                              (b, wgB, privateB, keyA, "10.77.0.2", "10.77.0.1")] {
                try ns.exec(["wg", "set", wg, "private-key", "/dev/stdin", "listen-port", "51820",
                             "peer", peer, "allowed-ips", "\(peerAddress)/32"], input: key)
                try ns.exec(["ip", "addr", "add", "\(address)/24", "dev", wg])
                try ns.exec(["ip", "link", "set", wg, "up"])
            }
        } catch {
            a.destroy()
            b.destroy()
            router?.destroy()
            throw error
        }
    }

    func peers(proxy: String, networkTypes: String) throws -> (PeerProcess, PeerProcess) {
        let common = ["--network-types", networkTypes, "--proxy", proxy]
        return (try PeerProcess("a", namespace: a.name, arguments: ["--role", "controlling", "--interfaces", "la0",
                                                                      "--wg", wgA, "--peer", keyB] + common),
                try PeerProcess("b", namespace: b.name, arguments: ["--role", "controlled", "--interfaces", "lb0",
                                                                      "--wg", wgB, "--peer", keyA] + common))
    }

    /// Runs `body` with both peers wired to each other; kills them and removes the namespaces afterwards.
    func run(proxy: String, networkTypes: String = "udp4",
             _ body: (PeerProcess, PeerProcess) async throws -> Void) async throws {
        defer { destroy() }
        let (pa, pb) = try peers(proxy: proxy, networkTypes: networkTypes)
        let tasks = [pa.relay(to: pb), pb.relay(to: pa)]
        defer {
            pa.terminate()
            pb.terminate()
        }
        do {
            try await body(pa, pb)
        } catch {
            var report = "\(error)"
            for peer in [pa, pb] { report += "\n\(peer.name) printed:\n" + (await peer.log.lines).joined(separator: "\n") }
            throw Timeout(description: report)
        }
        pa.terminate()
        pb.terminate()
        for t in tasks { await t.value }
    }

    /// Pings B's tunnel address from A; returns (sent, received).
    func ping(count: Int, interval: String = "0.2") throws -> (Int, Int) {
        let output = try a.tryExec(["ping", "-n", "-q", "-c", "\(count)", "-i", interval, "-W", "2", "10.77.0.2"]).stdout
        guard let line = output.split(separator: "\n").first(where: { $0.contains("packets transmitted") }) else {
            throw Timeout(description: "no ping summary in: \(output)")
        }
        let numbers = line.split(separator: " ").compactMap { Int($0) }
        return (numbers[0], numbers[1])
    }

    func nftTables(_ ns: NetNS) throws -> String {
        try ns.exec(["nft", "list", "tables"]).stdout
    }

    func destroy() {
        a.destroy()
        b.destroy()
        router?.destroy()
    }
}

/// Waits for a first reply (WireGuard's handshake must complete), then pings 10 times and expects no loss.
func expectPingFlows(_ lab: Lab) async throws {
    try await waitUntil("a first ping reply through the tunnel") { try lab.ping(count: 1).1 == 1 }
    let (sent, received) = try lab.ping(count: 10)
    #expect(sent == 10 && received == 10)
}

@Suite(.serialized) struct DataPathTests {
    @Test(arguments: [false, true])
    func kernelRedirectCarriesWireGuardWithoutUserspace(nat: Bool) async throws {
        let lab = try Lab(nat: nat)
        try await lab.run(proxy: "nftables") { pa, pb in
            #expect(try await pa.waitFor("path ").hasPrefix("path kernel-redirect \(lab.addressB):"))
            // Behind the NAT, B sends to the router's mapping of A's ICE socket: WireGuard's packets reuse it.
            #expect(try await pb.waitFor("path ").hasPrefix(nat ? "path kernel-redirect 203.0.113.1:" : "path kernel-redirect 192.168.77.1:"))
            if nat { #expect(try await pb.waitFor("pair ") == "pair host udp prflx udp") }
            try await expectPingFlows(lab)
            // Both directions crossed the rewriting rules...
            for (ns, wg) in [(lab.a, lab.wgA), (lab.b, lab.wgB)] {
                let table = try ns.exec(["nft", "list", "table", "inet", "wg-ice-\(wg)"]).stdout
                let counts = table.split(separator: "\n").filter { $0.contains("counter packets") }
                    .compactMap { line in line.split(separator: " ").drop { $0 != "packets" }.dropFirst().first.flatMap { Int($0) } }
                #expect(counts.count == 2 && counts.allSatisfy { $0 >= 10 }, "\(table)")
            }
            // ...and no WireGuard packet reached either ICE agent.
            for peer in [pa, pb] {
                peer.send("stray")
                #expect(try await peer.waitFor("stray ") == "stray 0")
                peer.send("close")
                try await peer.waitFor("closed")
            }
            #expect(try !lab.nftTables(lab.a).contains("wg-ice-"))
            #expect(try !lab.nftTables(lab.b).contains("wg-ice-"))
        }
    }

    @Test func userspaceProxyCarriesWireGuardOverTheICEPair() async throws {
        let lab = try Lab()
        try await lab.run(proxy: "userspace") { pa, pb in
            #expect(try await pa.waitFor("path ").hasPrefix("path userspace-proxy 127.0.0.1:"))
            #expect(try await pb.waitFor("path ").hasPrefix("path userspace-proxy 127.0.0.1:"))
            try await expectPingFlows(lab)
            #expect(try !lab.nftTables(lab.a).contains("wg-ice-"))
            for peer in [pa, pb] {
                peer.send("close")
                try await peer.waitFor("closed")
            }
        }
    }

    @Test func anICETCPPairGoesThroughTheProxy() async throws {
        let lab = try Lab()
        try await lab.run(proxy: "auto", networkTypes: "tcp4") { pa, pb in
            #expect(try await pa.waitFor("pair ").contains(" tcp-"))
            #expect(try await pa.waitFor("path ").hasPrefix("path userspace-proxy 127.0.0.1:"))
            #expect(try await pb.waitFor("path ").hasPrefix("path userspace-proxy 127.0.0.1:"))
            try await expectPingFlows(lab)
            for peer in [pa, pb] {
                peer.send("close")
                try await peer.waitFor("closed")
            }
        }
    }

    @Test func switchingFromProxyToRedirectLosesAtMostOnePing() async throws {
        let lab = try Lab()
        try await lab.run(proxy: "userspace") { pa, pb in
            try await pa.waitFor("path userspace-proxy")
            try await pb.waitFor("path userspace-proxy")
            try await waitUntil("a first ping reply through the proxy") { try lab.ping(count: 1).1 == 1 }
            async let pinging = Task.detached { try lab.ping(count: 50, interval: "0.1") }.value
            try await Task.sleep(for: .seconds(1.5))
            pb.send("proxy auto")
            pa.send("proxy auto")
            try await pa.waitFor("path kernel-redirect")
            try await pb.waitFor("path kernel-redirect")
            let (sent, received) = try await pinging
            #expect(sent == 50 && received >= 49, "lost \(sent - received) of \(sent)")
            for peer in [pa, pb] {
                peer.send("close")
                try await peer.waitFor("closed")
            }
        }
    }
}
