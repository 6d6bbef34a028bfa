import Foundation
import Synchronization
import Testing
import TestSupport
import WireGuard

/// The session's address watcher against the real kernel, in a namespace of its own: what ICE would gather
/// differently is reported (once per burst), what it would not (the ignored interface, link-local addresses,
/// non-default routes) is not.
@Suite(.serialized, .tags(.integration)) struct NetworkChangeMonitorTests {
    @Test func reportsAddressAndDefaultRouteChangesOncePerBurst() async throws {
        let ns = try NetNS(prefix: "ifnc")
        defer { ns.destroy() }
        // veth pairs inside the namespace: no dummy module on every host.
        try ns.exec(["ip", "link", "add", "lan0", "type", "veth", "peer", "name", "lan1"])
        try ns.exec(["ip", "link", "add", "wg0", "type", "veth", "peer", "name", "wg1"])
        let monitor = try ns.perform { try NetworkChangeMonitor(ignoring: "wg0") }
        let seen = Seen()
        let stream = try ns.perform { monitor.start() }
        let reader = Task { for await change in stream { seen.changes.withLock { $0.append(change.description) } } }
        func settle() async throws -> [String] {
            try await Task.sleep(for: .milliseconds(800))
            return seen.changes.withLock { let all = $0; $0 = []; return all }
        }

        // Links coming up bring IPv6 link-local addresses and their routes; the ignored interface anything.
        for link in ["lan0", "lan1", "wg0", "wg1"] { try ns.exec(["ip", "link", "set", link, "up"]) }
        try ns.exec(["ip", "addr", "add", "10.9.0.1/24", "dev", "wg0"])
        try ns.exec(["ip", "route", "add", "10.8.0.0/16", "dev", "lan0"])
        try ns.exec(["ip", "route", "add", "default", "dev", "wg0", "table", "51820"])
        #expect(try await settle() == [])

        try ns.exec(["ip", "addr", "add", "192.168.7.2/24", "dev", "lan0"])
        try ns.exec(["ip", "addr", "add", "192.168.7.3/24", "dev", "lan0"])
        let burst = try await settle()
        #expect(burst.count == 1 && burst[0].hasPrefix("address 192.168.7.2 added"), "\(burst)")

        try ns.exec(["ip", "route", "add", "default", "via", "192.168.7.1"])
        #expect(try await settle() == ["IPv4 default route added"])

        try ns.exec(["ip", "addr", "del", "192.168.7.3/24", "dev", "lan0"])
        #expect(try await settle() == ["address 192.168.7.3 removed"])

        monitor.cancel()
        await reader.value
    }
}

extension NetworkChangeMonitorTests {
    /// Another tunnel coming up on the same host (a hub with many interfaces, `wg-quick up wg1`) is no reason to
    /// gather again: each of 50 sessions in one namespace regathered on every other's address and none
    /// connected. A WireGuard interface is known by its UAPI socket (wireguard-go) or its link kind (kernel),
    /// also when it appears after the monitor started.
    @Test func changesOnOtherWireGuardInterfacesAreNotReported() async throws {
        let ns = try NetNS(prefix: "ifnw")
        defer { ns.destroy() }
        let sockets = FileManager.default.temporaryDirectory.appendingPathComponent("ifnw-\(getpid())")
        try FileManager.default.createDirectory(at: sockets, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: sockets) }
        func uapiSocket(_ name: String) { FileManager.default.createFile(atPath: sockets.appendingPathComponent("\(name).sock").path, contents: nil) }
        // Veths stand in for wireguard-go's TUN devices; only the socket names matter here.
        try ns.exec(["ip", "link", "add", "lan0", "type", "veth", "peer", "name", "lan1"])
        try ns.exec(["ip", "link", "add", "tun0", "type", "veth", "peer", "name", "tun1"])
        uapiSocket("tun0")
        let monitor = try ns.perform { try NetworkChangeMonitor(ignoring: "wg0", socketDirectory: sockets.path) }
        let seen = Seen()
        let stream = try ns.perform { monitor.start() }
        let reader = Task { for await change in stream { seen.changes.withLock { $0.append(change.description) } } }
        func settle() async throws -> [String] {
            try await Task.sleep(for: .milliseconds(800))
            return seen.changes.withLock { let all = $0; $0 = []; return all }
        }
        for link in ["lan0", "lan1", "tun0", "tun1"] { try ns.exec(["ip", "link", "set", link, "up"]) }
        _ = try await settle()

        try ns.exec(["ip", "addr", "add", "10.89.1.1/32", "dev", "tun0"])
        #expect(try await settle() == [], "an address on another WireGuard interface")
        uapiSocket("tun1")
        try ns.exec(["ip", "addr", "add", "10.89.1.2/32", "dev", "tun1"])
        #expect(try await settle() == [], "an address on a WireGuard interface that appeared after the start")
        try ns.exec(["ip", "addr", "del", "10.89.1.1/32", "dev", "tun0"])
        #expect(try await settle() == [], "an address removed from another WireGuard interface")
        try ns.exec(["ip", "addr", "add", "192.168.7.2/24", "dev", "lan0"])
        #expect(try await settle() == ["address 192.168.7.2 added"])

        monitor.cancel()
        await reader.value
    }
}

private final class Seen: Sendable {
    let changes = Mutex<[String]>([])
}
