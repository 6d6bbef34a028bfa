import Foundation
import Testing
import TestSupport

/// Single `ice-peer` processes in a namespace with two links, `lan0` and `lan1`.
@Suite(.tags(.integration)) struct PeerProcessTests {
    private func withTwoLinkNamespace(_ body: (NetNS) async throws -> Void) async throws {
        let ns = try NetNS(prefix: "icef")
        defer { ns.destroy() }
        try ns.exec(["ip", "link", "add", "lan0", "type", "veth", "peer", "name", "lan1"])
        try ns.exec(["ip", "addr", "add", "10.9.0.1/24", "dev", "lan0"])
        try ns.exec(["ip", "addr", "add", "10.9.1.1/24", "dev", "lan1"])
        for link in ["lan0", "lan1"] { try ns.exec(["ip", "link", "set", link, "up"]) }
        try await body(ns)
    }

    /// The addresses of the candidates a peer gathers with `arguments`.
    private func gatheredAddresses(in ns: NetNS, _ arguments: [String]) async throws -> Set<String> {
        let peer = try PeerProcess("peer", namespace: ns.name, arguments: ["--network-types", "udp4"] + arguments)
        defer { peer.terminate() }
        let task = peer.relay(to: peer)
        _ = try await peer.waitFor("done")
        peer.send("close")
        await task.value
        return Set(await peer.log.all("cand ").map { String($0.split(separator: " ")[5]) })
    }

    @Test func interfaceGlobsSelectGatheringAddresses() async throws {
        try await withTwoLinkNamespace { ns in
            for (interfaces, expected) in [(nil, ["10.9.0.1", "10.9.1.1"]), ("lan*,!lan1", ["10.9.0.1"]),
                                           ("!lan0", ["10.9.1.1"]), ("lo", ["127.0.0.1"])] as [(String?, Set<String>)] {
                let gathered = try await gatheredAddresses(in: ns, interfaces.map { ["--interfaces", $0] } ?? [])
                #expect(gathered == expected, "Interfaces = \(interfaces ?? "(default)")")
            }
        }
    }

    /// After a connected agent closes, the process holds no socket and no GLib source of it.
    @Test(arguments: ["udp4", "tcp4"])
    func closeReleasesEverySocket(networkType: String) async throws {
        let nsA = try NetNS(prefix: "icec"), nsB = try NetNS(prefix: "icec")
        defer {
            nsA.destroy()
            nsB.destroy()
        }
        try nsA.exec(["ip", "link", "add", "lan0", "type", "veth", "peer", "name", "lan0", "netns", nsB.name])
        for (ns, address) in [(nsA, "10.9.0.1/24"), (nsB, "10.9.0.2/24")] {
            try ns.exec(["ip", "addr", "add", address, "dev", "lan0"])
            try ns.exec(["ip", "link", "set", "lan0", "up"])
        }
        let args = ["--network-types", networkType]
        let a = try PeerProcess("a", namespace: nsA.name, arguments: ["--role", "controlling"] + args)
        let b = try PeerProcess("b", namespace: nsB.name, arguments: ["--role", "controlled"] + args)
        try await withPeerProcesses(a, b) {
            try await exchangeData(a, b)
            a.send("sockets")
            a.send("sources")
            #expect(try await a.waitFor("sockets ") != "sockets 0")
            #expect(try await a.waitFor("sources ") != "sources 0")
            a.send("close")
            try await waitUntil("a to report after close") { await a.log.all("sources ").count == 2 }
            #expect(await a.log.all("sockets ").last == "sockets 0")
            #expect(await a.log.all("sources ").last == "sources 0")
        }
    }
}
