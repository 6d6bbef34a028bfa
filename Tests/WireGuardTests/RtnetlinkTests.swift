import Foundation
import Testing
import TestSupport
@testable import WireGuard

/// rtnetlink link discovery and monitoring on the host kernel, inside a namespace of the test's own.
@Suite(.tags(.integration)) struct RtnetlinkTests {
    @Test func dumpAndWatchLinks() throws {
        let ns = try NetNS()
        defer { ns.destroy() }
        // This host's kernel has no dummy module; a tun link is created by the tun driver itself.
        let name = "tn\(uniqueSuffix())"
        let watcher = try ns.perform { try LinkWatcher() }
        try ns.exec(["ip", "tuntap", "add", "dev", name, "mode", "tun"])

        let listed = try ns.perform { try LinkWatcher.list() }
        #expect(listed.map(\.name).sorted() == ["lo", name].sorted())
        let dummy = try #require(listed.first { $0.name == name })
        #expect(dummy.kind == "tun")
        #expect(listed.first { $0.name == "lo" }?.kind == nil)
        #expect(try ns.perform { try WireGuard.kernelInterfaces() } == [])

        #expect(try events(of: watcher, until: { $0.contains(.added(dummy)) }).first == .added(dummy))
        try ns.exec(["ip", "link", "del", name])
        #expect(try events(of: watcher, until: { $0.contains(.removed(dummy)) }).last == .removed(dummy))
    }

    /// Drains the watcher until `done` holds (or 5 s pass); it is non-blocking, so poll its fd.
    private func events(of watcher: LinkWatcher, until done: ([LinkWatcher.Event]) -> Bool) throws -> [LinkWatcher.Event] {
        var seen = [LinkWatcher.Event]()
        let deadline = Date().addingTimeInterval(5)
        while !done(seen) && Date() < deadline {
            var fd = pollfd(fd: watcher.fd, events: Int16(POLLIN), revents: 0)
            _ = poll(&fd, 1, 100)
            seen += watcher.drain()
        }
        return seen
    }
}
