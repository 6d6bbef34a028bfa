import Keys
import Foundation
import Glibc
import Synchronization
import TestSupport
import WireGuard

/// The generic netlink client against kernel WireGuard, with `wg showconf` (which talks netlink itself) as the
/// oracle. Prints TAP-style `ok` / `not ok` lines; fails if any check fails. Meant for a kvm-run guest.
final class KernelCheck {
    private var number = 0
    private var failed = 0

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    func run() -> Bool {
        check("generic netlink family resolves, missing interface is ENODEV") {
            let client = try GenericNetlinkClient(interface: "nosuchwg0")
            try expectError(.noSuchInterface("nosuchwg0")) { _ = try client.device() }
        }
        check("a non-WireGuard link is EOPNOTSUPP") {
            let client = try GenericNetlinkClient(interface: "lo")
            try expectError(.notSupported("lo: not a kernel WireGuard interface (EOPNOTSUPP)")) { _ = try client.device() }
        }
        check("configure and read back, v4 and v6 endpoints, compared with wg showconf") {
            try sh("ip", "link", "add", "wgk0", "type", "wireguard")
            defer { try? sh("ip", "link", "del", "wgk0") }
            let control = try WireGuard.open("wgk0")
            try expect(control is GenericNetlinkClient, "wg(8)-style selection picks netlink")
            let privateKey = PrivateKey.generate(), psk = PrivateKey.generate().secret
            let p1 = PrivateKey.generate().publicKey, p2 = PrivateKey.generate().publicKey
            try control.apply(DeviceChange(privateKey: privateKey, listenPort: 51820, fwmark: 0x42, replacePeers: true, peers: [
                PeerChange(publicKey: p1, presharedKey: psk, endpoint: Endpoint("192.0.2.1:51820"), persistentKeepalive: 25,
                           allowedIPs: [AllowedIP("10.0.0.0/24")!, AllowedIP("fd00::/64")!]),
                PeerChange(publicKey: p2, endpoint: Endpoint("[2001:db8::1]:51821"), allowedIPs: [AllowedIP("10.0.1.1/32")!]),
            ]))
            let device = try control.device()
            try expect(device.privateKey == privateKey && device.publicKey == privateKey.publicKey, "keys")
            try expect(device.listenPort == 51820 && device.fwmark == 0x42, "port and mark")
            try expect(device.peers.map(\.publicKey) == [p1, p2], "peers in order")
            try expect(device.peers[0].presharedKey == psk && device.peers[0].persistentKeepalive == 25, "psk, keepalive")
            try expect(device.peers[0].endpoint == Endpoint("192.0.2.1:51820"), "v4 endpoint")
            try expect(device.peers[1].endpoint == Endpoint("[2001:db8::1]:51821"), "v6 endpoint")
            try expect(device.showconf == (try sh("wg", "showconf", "wgk0")), "showconf:\n\(device.showconf)")

            // Endpoint-only update (WGPEER_F_UPDATE_ONLY) moves p1 and never creates a stranger.
            try control.apply(.endpoint(Endpoint("[2001:db8::9]:9")!, for: p1))
            try control.apply(.endpoint(Endpoint("192.0.2.99:9")!, for: PrivateKey.generate().publicKey))
            let moved = try control.device()
            try expect(moved.peers.count == 2 && moved.peers[0].endpoint == Endpoint("[2001:db8::9]:9"), "update-only")
            try expect(moved.peers[0].allowedIPs == device.peers[0].allowedIPs, "update-only kept allowed IPs")

            try control.apply(DeviceChange(peers: [.remove(p2), PeerChange(publicKey: p1, replaceAllowedIPs: true,
                                                                             allowedIPs: [AllowedIP("10.9.9.9/32")!])]))
            let trimmed = try control.device()
            try expect(trimmed.peers.map(\.publicKey) == [p1] && trimmed.peers[0].allowedIPs == [AllowedIP("10.9.9.9/32")!],
                       "remove and replace allowed IPs")
            try expect(trimmed.showconf == (try sh("wg", "showconf", "wgk0")), "showconf after changes")
        }
        check("1,000 peers and 20,000 allowed IPs over split SET messages and a multi-part dump") {
            try sh("ip", "link", "add", "wgk1", "type", "wireguard")
            defer { try? sh("ip", "link", "del", "wgk1") }
            let control = try GenericNetlinkClient(interface: "wgk1")
            let peers = (0..<1000).map { i in
                PeerChange(publicKey: PrivateKey.generate().publicKey, endpoint: Endpoint("198.51.100.\(i % 250 + 1):\(10000 + i)"),
                           persistentKeepalive: 25, replaceAllowedIPs: true,
                           allowedIPs: (0..<20).map { j in AllowedIP(address: [10, UInt8(i / 250), UInt8(i % 250), UInt8(j)], cidr: 32)! })
            }
            try control.apply(DeviceChange(privateKey: PrivateKey.generate(), replacePeers: true, peers: peers))
            let device = try control.device()
            try expect(device.peers.map(\.publicKey) == peers.map(\.publicKey), "1,000 peers in order")
            try expect(device.peers.reduce(0) { $0 + $1.allowedIPs.count } == 20000, "20,000 allowed IPs")
            for (sent, got) in zip(peers, device.peers) where Set(sent.allowedIPs) != Set(got.allowedIPs) || sent.endpoint != got.endpoint {
                throw Failure(description: "peer \(sent.publicKey) differs")
            }
            try expect(device.showconf == (try sh("wg", "showconf", "wgk1")), "showconf of 1,000 peers")

            // One peer with 2,000 allowed IPs: split within the peer, in both directions.
            let big = PrivateKey.generate().publicKey
            let many = (0..<2000).map { AllowedIP(address: [172, 16, UInt8($0 / 256), UInt8($0 % 256)], cidr: 32)! }
            try control.apply(DeviceChange(replacePeers: true, peers: [PeerChange(publicKey: big, allowedIPs: many)]))
            let one = try control.device()
            try expect(one.peers.count == 1 && Set(one.peers[0].allowedIPs) == Set(many), "a peer split across messages")
        }
        check("dumps stay consistent while another socket changes the device (NLM_F_DUMP_INTR restarts)") {
            try sh("ip", "link", "add", "wgk2", "type", "wireguard")
            defer { try? sh("ip", "link", "del", "wgk2") }
            let reader = try GenericNetlinkClient(interface: "wgk2"), writer = try GenericNetlinkClient(interface: "wgk2")
            let peers = (0..<300).map { i in
                PeerChange(publicKey: PrivateKey.generate().publicKey,
                           allowedIPs: (0..<20).map { j in AllowedIP(address: [10, UInt8(2 + i / 250), UInt8(i % 250), UInt8(j)], cidr: 32)! })
            }
            try writer.apply(DeviceChange(replacePeers: true, peers: peers))
            // Changes two quiet dumps apart: a dump restarted after a change finishes before the next one, however
            // slow the VM (a fixed gap shorter than one dump interrupts every dump and starves the reader).
            let quiet = ContinuousClock().measure { _ = try? reader.device() }
            let gap = UInt32(max(5_000, 2 * (quiet.components.seconds * 1_000_000 + quiet.components.attoseconds / 1_000_000_000_000)))
            print("# a quiet dump takes \(quiet); one change every \(gap / 1000) ms")
            let stop = Atomic(false)
            let churn = Thread {
                var flip = false
                while !stop.load(ordering: .relaxed) {
                    flip.toggle()
                    try? writer.apply(DeviceChange(peers: [PeerChange(publicKey: peers[0].publicKey, endpoint: Endpoint(flip ? "192.0.2.1:1" : "192.0.2.2:2"))]))
                    usleep(gap)
                }
            }
            churn.start()
            defer { stop.store(true, ordering: .relaxed) }
            // Until 30 dumps and at least one restart: only the kernel's part of a dump can be interrupted.
            var dumps = 0
            while dumps < 30 || (reader.restartedDumps == 0 && dumps < 300) {
                dumps += 1
                let device = try reader.device()
                try expect(device.peers.count == 300 && device.peers.allSatisfy { $0.allowedIPs.count == 20 },
                           "inconsistent dump: \(device.peers.count) peers, allowed IPs per peer \(Set(device.peers.map(\.allowedIPs.count)))")
            }
            try expect(reader.restartedDumps > 0, "no dump was interrupted, so the restart path did not run")
            print("# \(reader.restartedDumps) interrupted dumps restarted")
        }
        check("discovery lists kernel links of kind wireguard") {
            try sh("ip", "link", "add", "wgk3", "type", "wireguard")
            defer { try? sh("ip", "link", "del", "wgk3") }
            try sh("ip", "link", "add", "notwg3", "type", "dummy")
            defer { try? sh("ip", "link", "del", "notwg3") }
            let found = try WireGuard.interfaces()
            try expect(found.contains(WireGuardInterface(name: "wgk3", implementation: .kernel)), "wgk3 found")
            try expect(!found.contains { $0.name == "notwg3" }, "dummy not listed")
        }
        check("monitor: kernel link added, peer added and removed, link removed") {
            let events = try collectEvents(expecting: 4) {
                try sh("ip", "link", "add", "wgk4", "type", "wireguard")
                Thread.sleep(forTimeInterval: 1)
                try sh("wg", "set", "wgk4", "peer", "u4AKo5MOhFZbV6TanHSW8F6F7jHpcsQlTEzLhrvrK2s=", "allowed-ips", "10.4.0.1/32")
                Thread.sleep(forTimeInterval: 1)
                try sh("wg", "set", "wgk4", "peer", "u4AKo5MOhFZbV6TanHSW8F6F7jHpcsQlTEzLhrvrK2s=", "remove")
                Thread.sleep(forTimeInterval: 1)
                try sh("ip", "link", "del", "wgk4")
            }
            let peer = Key(base64: "u4AKo5MOhFZbV6TanHSW8F6F7jHpcsQlTEzLhrvrK2s=")!
            try expect(events == [.interfaceAdded("wgk4"), .peerAdded(interface: "wgk4", peer: peer),
                                  .peerRemoved(interface: "wgk4", peer: peer), .interfaceRemoved("wgk4")], "events: \(events)")
        }
        check("without CAP_NET_ADMIN the kernel's EPERM is a clear error") {
            try sh("ip", "link", "add", "wgk5", "type", "wireguard")
            defer { try? sh("ip", "link", "del", "wgk5") }
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            process.arguments = ["--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
                                 CommandLine.arguments[0], "showconf", "wgk5"]
            let err = Pipe()
            process.standardError = err
            try process.run()
            let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            try expect(process.terminationStatus == 1 && message ==
                       "wireguard-driver: wgk5: WireGuard netlink: permission denied (needs CAP_NET_ADMIN / root)\n", message)
        }
        check("monitor: a real kernel handshake between two namespaces") { try handshake() }
        print("1..\(number)")
        print(failed == 0 ? "kernel-check: all \(number) checks passed" : "kernel-check: \(failed) of \(number) checks FAILED")
        return failed == 0
    }

    /// Kernel WireGuard in two namespaces joined by a veth pair; one monitor inside each namespace.
    private func handshake() throws {
        let a = try NetNS(prefix: "ka"), b = try NetNS(prefix: "kb")
        defer { a.destroy(); b.destroy() }
        try a.exec(["ip", "link", "add", "lka", "type", "veth", "peer", "name", "lkb", "netns", b.name])
        let keyA = PrivateKey.generate(), keyB = PrivateKey.generate()
        let onA = try a.perform { try EventCollector() }, onB = try b.perform { try EventCollector() }
        try a.exec(["ip", "link", "add", "wgka", "type", "wireguard"])
        try b.exec(["ip", "link", "add", "wgkb", "type", "wireguard"])
        try a.perform {
            try GenericNetlinkClient(interface: "wgka").apply(DeviceChange(privateKey: keyA, listenPort: 51801, peers: [
                PeerChange(publicKey: keyB.publicKey, endpoint: Endpoint("192.168.77.2:51802"), allowedIPs: [AllowedIP("10.77.0.2/32")!])]))
        }
        try b.perform {
            try GenericNetlinkClient(interface: "wgkb").apply(DeviceChange(privateKey: keyB, listenPort: 51802, peers: [
                PeerChange(publicKey: keyA.publicKey, allowedIPs: [AllowedIP("10.77.0.1/32")!])]))
        }
        for (ns, link, address, wg, tunnel) in [(a, "lka", "192.168.77.1/24", "wgka", "10.77.0.1/24"),
                                                (b, "lkb", "192.168.77.2/24", "wgkb", "10.77.0.2/24")] {
            try ns.exec(["ip", "addr", "add", address, "dev", link])
            try ns.exec(["ip", "link", "set", link, "up"])
            try ns.exec(["ip", "addr", "add", tunnel, "dev", wg])
            try ns.exec(["ip", "link", "set", wg, "up"])
        }
        try a.exec(["ping", "-c", "2", "-W", "10", "10.77.0.2"])
        let isHandshake: (WireGuardEvent) -> Bool = { if case .handshake = $0 { true } else { false } }
        let eventsA = onA.wait { $0.contains(where: isHandshake) }, eventsB = onB.wait { $0.contains(where: isHandshake) }
        try expect(eventsA.prefix(2) == [.interfaceAdded("wgka"), .peerAdded(interface: "wgka", peer: keyB.publicKey)]
                   && eventsA.count == 3 && isHandshake(eventsA[2]), "events in A: \(eventsA)")
        try expect(eventsB.prefix(3) == [.interfaceAdded("wgkb"), .peerAdded(interface: "wgkb", peer: keyA.publicKey),
                                         .endpointChanged(interface: "wgkb", peer: keyA.publicKey, endpoint: Endpoint("192.168.77.1:51801"))]
                   && eventsB.count == 4 && isHandshake(eventsB[3]), "events in B: \(eventsB)")
    }

    /// Runs `actions` while a monitor of this namespace's `wgk*` interfaces watches, and returns its events.
    private func collectEvents(expecting count: Int, _ actions: () throws -> Void) throws -> [WireGuardEvent] {
        let collector = try EventCollector()
        try actions()
        return collector.wait { $0.count >= count }
    }

    private func check(_ name: String, _ body: () throws -> Void) {
        if let only = ProcessInfo.processInfo.environment["KERNEL_CHECK_ONLY"], !name.contains(only) { return }
        number += 1
        do {
            try body()
            print("ok \(number) - \(name)")
        } catch {
            failed += 1
            print("not ok \(number) - \(name): \(error)")
        }
        // Flushed per check so that a guest killed at kvm-run's timeout still shows how far it got.
        fflush(nil)
    }
}

/// A 200 ms monitor of `wgk*` interfaces in the namespace of the thread that creates it, with its events
/// gathered by a task.
final class EventCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var stored = [WireGuardEvent]()
    private let monitor: WireGuardMonitor

    init() throws {
        monitor = try WireGuardMonitor(pollInterval: .milliseconds(200)) { $0.hasPrefix("wgk") }
        Task { [monitor] in
            for await event in monitor { self.lock.withLock { self.stored.append(event) } }
        }
    }

    /// Waits up to 20 s for `done`, then 0.5 s more so that unexpected extra events show; stops the monitor.
    func wait(until done: ([WireGuardEvent]) -> Bool) -> [WireGuardEvent] {
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline && !done(events) { Thread.sleep(forTimeInterval: 0.1) }
        Thread.sleep(forTimeInterval: 0.5)
        monitor.cancel()
        return events
    }

    var events: [WireGuardEvent] { lock.withLock { stored } }
}

func expect(_ condition: Bool, _ what: @autoclosure () -> String) throws {
    if !condition { throw KernelCheck.Failure(description: what()) }
}

func expectError(_ expected: WireGuardError, _ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as WireGuardError {
        try expect(error == expected, "expected \(expected), got \(error)")
        return
    }
    throw KernelCheck.Failure(description: "expected \(expected), got success")
}

@discardableResult
func sh(_ argv: String...) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = argv
    let out = Pipe()
    process.standardOutput = out
    try process.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw KernelCheck.Failure(description: "\(argv.joined(separator: " ")) exited \(process.terminationStatus)")
    }
    return String(decoding: data, as: UTF8.self)
}
