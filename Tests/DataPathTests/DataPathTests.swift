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
                try a.exec(["ip", "addr", "add", "fd77::1/64", "dev", "la0", "nodad"])
                try b.exec(["ip", "addr", "add", "fd77::2/64", "dev", "lb0", "nodad"])
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

    func peers(proxy: String, networkTypes: String, extra: [String]) throws -> (PeerProcess, PeerProcess) {
        let common = ["--network-types", networkTypes, "--proxy", proxy] + extra
        return (try PeerProcess("a", executable: "datapath-peer", namespace: a.name, arguments: ["--role", "controlling", "--interfaces", "la0",
                                                                      "--wg", wgA, "--peer", keyB] + common),
                try PeerProcess("b", executable: "datapath-peer", namespace: b.name, arguments: ["--role", "controlled", "--interfaces", "lb0",
                                                                      "--wg", wgB, "--peer", keyA] + common))
    }

    /// Runs `body` with both peers wired to each other; kills them and removes the namespaces afterwards.
    func run(proxy: String, networkTypes: String = "udp4", extra: [String] = [],
             _ body: (PeerProcess, PeerProcess) async throws -> Void) async throws {
        defer { destroy() }
        let (pa, pb) = try peers(proxy: proxy, networkTypes: networkTypes, extra: extra)
        try await withPeerProcesses(pa, pb) { try await body(pa, pb) }
    }

    /// Pings B's tunnel address from A; returns (sent, received).
    func ping(count: Int, interval: String = "0.2") async throws -> (Int, Int) {
        let output = try await offPool { [a] in
            try a.tryExec(["ping", "-n", "-q", "-c", "\(count)", "-i", interval, "-W", "2", "10.77.0.2"]).stdout
        }
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
    try await waitUntil("a first ping reply through the tunnel", seconds: 15) { try await lab.ping(count: 1).1 == 1 }
    let (sent, received) = try await lab.ping(count: 10)
    #expect(sent == 10 && received == 10)
}

@Suite(.serialized, .tags(.integration)) struct DataPathTests {
    @Test(arguments: [false, true])
    func kernelRedirectCarriesWireGuardWithoutUserspace(nat: Bool) async throws {
        let lab = try await offPool { try Lab(nat: nat) }
        try await lab.run(proxy: "nftables") { pa, pb in
            #expect(try await pa.waitFor("path ").hasPrefix("path kernel-redirect \(lab.addressB):"))
            // Behind the NAT, B sends to the router's mapping of A's ICE socket: WireGuard's packets reuse it.
            #expect(try await pb.waitFor("path ").hasPrefix(nat ? "path kernel-redirect 203.0.113.1:" : "path kernel-redirect 192.168.77.1:"))
            if nat { #expect(try await pb.waitFor("pair ") == "pair host udp prflx udp") }
            try await expectKernelOnly(lab, pa, pb)
        }
    }

    @Test func kernelRedirectOverIPv6() async throws {
        let lab = try await offPool { try Lab() }
        try await lab.run(proxy: "nftables", networkTypes: "udp6") { pa, pb in
            #expect(try await pa.waitFor("path ").hasPrefix("path kernel-redirect [fd77::2]:"))
            #expect(try await pb.waitFor("path ").hasPrefix("path kernel-redirect [fd77::1]:"))
            try await expectKernelOnly(lab, pa, pb)
        }
    }

    /// Pings through the tunnel and checks that every packet took the nft rules and none reached an agent;
    /// then closes both peers and checks their tables are gone.
    func expectKernelOnly(_ lab: Lab, _ pa: PeerProcess, _ pb: PeerProcess) async throws {
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

    @Test func userspaceProxyCarriesWireGuardOverTheICEPair() async throws {
        try await expectProxy(offPool { try Lab() }, proxy: "userspace") { $0 == "pair host udp host udp" }
    }

    @Test func anICETCPPairGoesThroughTheProxy() async throws {
        try await expectProxy(offPool { try Lab() }, proxy: "auto", networkTypes: "tcp4") { $0.contains(" tcp-") }
    }

    /// Relay-only ICE through a real coturn in B's namespace: a relayed pair, which `auto` sends through the proxy.
    @Test func aRelayedPairGoesThroughTheProxy() async throws {
        let lab = try await offPool { try Lab() }
        let turn = try await offPool { try Turnserver(in: lab.b, address: "192.168.77.2") }
        defer { turn.stop() }
        let relay = ["--urls", "turn:192.168.77.2:3478?transport=udp", "--username", Turnserver.user,
                     "--password", Turnserver.password, "--candidate-types", "relay"]
        try await expectProxy(lab, proxy: "auto", extra: relay) { $0 == "pair relay udp relay udp" }
    }

    /// Expects both peers to carry A's pair (as `pairMatches` wants it) through the userspace proxy, pings
    /// through it, and closes them.
    func expectProxy(_ lab: Lab, proxy: String, networkTypes: String = "udp4", extra: [String] = [],
                     pairMatches: (String) -> Bool) async throws {
        try await lab.run(proxy: proxy, networkTypes: networkTypes, extra: extra) { pa, pb in
            let pair = try await pa.waitFor("pair ", seconds: 20)
            #expect(pairMatches(pair), "\(pair)")
            for peer in [pa, pb] {
                #expect(try await peer.waitFor("path ").hasPrefix("path userspace-proxy 127.0.0.1:"))
            }
            try await expectPingFlows(lab)
            #expect(try !lab.nftTables(lab.a).contains("wg-ice-"))
            for peer in [pa, pb] {
                peer.send("close")
                try await peer.waitFor("closed")
            }
        }
    }

    @Test func switchingFromProxyToRedirectLosesAtMostOnePing() async throws {
        let lab = try await offPool { try Lab() }
        try await lab.run(proxy: "userspace") { pa, pb in
            try await pa.waitFor("path userspace-proxy")
            try await pb.waitFor("path userspace-proxy")
            try await waitUntil("a first ping reply through the proxy", seconds: 15) { try await lab.ping(count: 1).1 == 1 }
            async let pinging = lab.ping(count: 50, interval: "0.1")
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

    /// Every kind of change on one agent, during a 10/s ping: redirect → proxy, proxy → a second proxy of the same
    /// agent (the first one closes after the second installed its receive handler, which must stay), proxy →
    /// redirect. Both directions keep flowing.
    @Test func everyPathChangeKeepsTrafficFlowing() async throws {
        let lab = try await offPool { try Lab() }
        try await lab.run(proxy: "auto") { pa, pb in
            try await pa.waitFor("path kernel-redirect")
            try await pb.waitFor("path kernel-redirect")
            try await waitUntil("a first ping reply", seconds: 15) { try await lab.ping(count: 1).1 == 1 }
            async let pinging = lab.ping(count: 60, interval: "0.1")
            for mode in ["userspace", "userspace", "auto"] {
                try await Task.sleep(for: .seconds(1.5))
                for peer in [pa, pb] { peer.send("proxy \(mode)") }
                let kind = mode == "auto" ? "kernel-redirect" : "userspace-proxy"
                for peer in [pa, pb] { try await peer.waitFor("path \(kind)") }
            }
            let (sent, received) = try await pinging
            #expect(sent == 60 && received >= 58, "lost \(sent - received) of \(sent)")
            for peer in [pa, pb] {
                peer.send("close")
                try await peer.waitFor("closed")
            }
        }
    }
}
