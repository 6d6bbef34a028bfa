import Addresses
import Foundation
@testable import PortMapping
import TestSupport
import Testing

/// A client namespace behind a router namespace running Debian's miniupnpd (nftables backend) with a WAN host
/// beyond it; `portmap-client` runs the mapper in the client namespace (its sockets, its routes, libminiupnpc's).
final class PortMapLab: Sendable {
    static let clientAddress = "192.168.77.2"
    static let routerLAN = "192.168.77.1"
    /// miniupnpd maps nothing behind a reserved WAN address (RFC 5737, 6598, 1918, ...).
    static let routerWAN = "5.6.7.8"
    let client: NetNS, router: NetNS, wan: NetNS
    let files: String
    private let daemon = DaemonSlot()

    init() throws {
        client = try NetNS(prefix: "pmt")
        router = try NetNS(prefix: "pmt")
        wan = try NetNS(prefix: "pmt")
        files = NSTemporaryDirectory() + "\(router.name)"
        do {
            try FileManager.default.createDirectory(atPath: files, withIntermediateDirectories: true)
            try run(["ip", "link", "add", "lan0", "netns", client.name, "type", "veth", "peer", "name", "lan0", "netns", router.name])
            try run(["ip", "link", "add", "wan0", "netns", router.name, "type", "veth", "peer", "name", "wan0", "netns", wan.name])
            for (ns, dev, address) in [(client, "lan0", "\(Self.clientAddress)/24"), (router, "lan0", "\(Self.routerLAN)/24"),
                                       (router, "wan0", "\(Self.routerWAN)/24"), (wan, "wan0", "5.6.7.9/24")] {
                try ns.exec(["ip", "addr", "add", address, "dev", dev])
                try ns.exec(["ip", "link", "set", dev, "up"])
            }
            try client.exec(["ip", "route", "add", "default", "via", Self.routerLAN])
            try router.exec(["sysctl", "-qw", "net.ipv4.ip_forward=1"])
            // What Debian's nft_init.sh would create (its helper script is the iptables one): the hooks jump to the
            // chains miniupnpd fills, in the table named in its configuration.
            try router.exec(["nft", "-f", "-"], input: """
                table inet pmt {
                  chain forward { type filter hook forward priority 0; policy accept; jump miniupnpd; }
                  chain miniupnpd { }
                  chain prerouting { type nat hook prerouting priority -100; policy accept; jump prerouting_miniupnpd; }
                  chain postrouting { type nat hook postrouting priority 100; policy accept; jump postrouting_miniupnpd; }
                  chain prerouting_miniupnpd { }
                  chain postrouting_miniupnpd { }
                }
                """)
            try """
                ext_ifname=wan0
                listening_ip=lan0
                http_port=0
                enable_natpmp=yes
                enable_upnp=yes
                secure_mode=yes
                system_uptime=no
                uuid=3d3cec3a-8cf0-11e0-98ee-001a6bd2d07b
                upnp_table_name=pmt
                upnp_nat_table_name=pmt
                allow 1024-65535 192.168.77.0/24 1024-65535
                deny 0-65535 0.0.0.0/0 0-65535

                """.write(toFile: "\(files)/miniupnpd.conf", atomically: true, encoding: .utf8)
        } catch {
            destroy()
            throw error
        }
    }

    /// Starts miniupnpd in the foreground (its epoch starts at 0) and waits until it serves PCP/NAT-PMP.
    func startMiniupnpd() async throws {
        let log = "\(files)/miniupnpd.log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["ip", "netns", "exec", router.name, "miniupnpd", "-d", "-f", "\(files)/miniupnpd.conf",
                             "-P", "\(files)/miniupnpd.pid"]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle(forWritingAtPath: log)
        process.standardError = FileHandle(forWritingAtPath: log)
        try process.run()
        daemon.set(process)
        try await waitUntil("miniupnpd to listen", seconds: 30) {
            (try? String(contentsOfFile: log, encoding: .utf8))?.contains("Listening for NAT-PMP/PCP") == true
        }
    }

    /// A router reboot: miniupnpd gone, and the mappings with it.
    func stopMiniupnpd() throws {
        daemon.stop()
        try router.exec(["nft", "flush", "chain", "inet", "pmt", "prerouting_miniupnpd"])
        try router.exec(["nft", "flush", "chain", "inet", "pmt", "miniupnpd"])
    }

    /// miniupnpd's DNAT rules.
    func natRules() throws -> String {
        try router.exec(["nft", "list", "chain", "inet", "pmt", "prerouting_miniupnpd"]).stdout
    }

    func hasRule(externalPort: UInt16, internalPort: UInt16) throws -> Bool {
        try natRules().contains("dport \(externalPort) dnat ip to \(Self.clientAddress):\(internalPort)")
    }

    var rulesText: String { (try? natRules()) ?? "(no nft listing)" }

    var miniupnpdLog: String { (try? String(contentsOfFile: "\(files)/miniupnpd.log", encoding: .utf8)) ?? "" }

    /// One UDP datagram from the WAN host.
    func sendFromWAN(_ text: String, to destination: SocketAddress) throws {
        try wan.perform {
            let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
            defer { close(fd) }
            _ = Array(text.utf8).withUnsafeBytes { bytes in
                destination.withSockaddr { sendto(fd, bytes.baseAddress, bytes.count, 0, $0, $1) }
            }
        }
    }

    func client(_ arguments: [String]) throws -> PeerProcess {
        try PeerProcess("portmap-client", executable: "portmap-client", namespace: client.name,
                        arguments: ["--local", Self.clientAddress] + arguments)
    }

    func destroy() {
        daemon.stop()
        for ns in [client, router, wan] { ns.destroy() }
        try? FileManager.default.removeItem(atPath: files)
    }
}

/// The miniupnpd process, stopped with SIGTERM and reaped.
private final class DaemonSlot: @unchecked Sendable {
    private let lock = NSLock()
    private var process: Process?
    func set(_ p: Process) { lock.withLock { process = p } }
    func stop() {
        guard let p = lock.withLock({ () -> Process? in defer { process = nil }; return process }) else { return }
        if p.isRunning { p.terminate() }
        reap(p)
    }
}

/// Runs `body` with a fresh lab and a client, and removes everything whatever happens; a failure reports what the
/// client printed and miniupnpd logged.
func withPortMapLab(miniupnpd: Bool = true, client arguments: [String],
                    _ body: (PortMapLab, PeerProcess) async throws -> Void) async throws {
    let lab = try PortMapLab()
    defer { lab.destroy() }
    if miniupnpd { try await lab.startMiniupnpd() }
    let client = try lab.client(arguments)
    let recording = client.record()
    defer { client.terminate() }
    do {
        try await body(lab, client)
    } catch {
        let printed = await client.log.lines.joined(separator: "\n")
        throw Timeout(description: "\(error)\nportmap-client printed:\n\(printed)\nminiupnpd:\n\(lab.miniupnpdLog)")
    }
    client.terminate()
    await recording.value
}

@Suite(.tags(.integration), .serialized)
struct MiniupnpdTests {
    /// Each method alone against miniupnpd: the mapping is created (miniupnpd's DNAT rule), names the WAN address,
    /// carries a datagram from the WAN to the client's socket, is re-created after miniupnpd restarts (PCP and
    /// NAT-PMP: its epoch starts again; UPnP: the mapping is gone), and release deletes it.
    @Test(arguments: PortMappingMethod.allCases)
    func mapsForwardsSurvivesARestartAndReleases(method: PortMappingMethod) async throws {
        let port: UInt16 = 5100
        try await withPortMapLab(client: ["--port", "\(port)", "--methods", method.rawValue, "--probe", "1", "--retry", "0.5"]) {
            lab, client in
            let line = try await client.waitFor("mapping ")
            let fields = line.split(separator: " ")
            #expect(fields.count == 4 && fields[1] == method.rawValue, "\(line)")
            let external = try #require(SocketAddress(fields[2]), "\(line)")
            #expect(external.address == IPAddress(PortMapLab.routerWAN))
            #expect(fields[3] == "7200")
            #expect(try lab.hasRule(externalPort: external.port, internalPort: port), "\(lab.rulesText)")

            try lab.sendFromWAN("hello-\(method.rawValue)", to: external)
            try await client.waitFor("recv hello-\(method.rawValue)", seconds: 20)

            // Let the epoch run a few seconds, so that a fresh one is visibly behind.
            try await Task.sleep(for: .seconds(3))
            try lab.stopMiniupnpd()
            #expect(try !lab.hasRule(externalPort: external.port, internalPort: port))
            try await lab.startMiniupnpd()
            try await waitUntil("the mapping re-created on the restarted router", seconds: 30) {
                try lab.hasRule(externalPort: external.port, internalPort: port)
            }
            let cause = method == .upnp ? "log router lost the port mapping" : "log router restarted"
            try await client.waitFor(cause, seconds: 10)
            try lab.sendFromWAN("again-\(method.rawValue)", to: external)
            try await client.waitFor("recv again-\(method.rawValue)", seconds: 20)

            client.send("release")
            let released = try await client.waitFor("released ")
            #expect(try !lab.hasRule(externalPort: external.port, internalPort: port), "\(lab.rulesText)")
            #expect(Int(released.split(separator: " ")[1])! <= 300, "\(released)")
            client.send("stop")
            try await client.waitFor("stopped ")
        }
    }

    /// Two ports, `stop` as `wg-quick down` runs it: every mapping deleted, fast.
    @Test func stopDeletesEveryMappingFast() async throws {
        let lab = try PortMapLab()
        defer { lab.destroy() }
        try await lab.startMiniupnpd()
        var clients: [PeerProcess] = []
        defer { for c in clients { c.terminate() } }
        for port in [5200, 5201] {
            let c = try lab.client(["--port", "\(port)", "--methods", "pcp"])
            _ = c.record()
            clients.append(c)
            try await c.waitFor("mapping pcp")
        }
        for (c, port) in zip(clients, [UInt16(5200), 5201]) {
            #expect(try lab.hasRule(externalPort: port, internalPort: port))
            c.send("stop")
            let stopped = try await c.waitFor("stopped ")
            #expect(Int(stopped.split(separator: " ")[1])! < 500, "\(stopped)")
            #expect(try !lab.hasRule(externalPort: port, internalPort: port))
        }
    }
}
