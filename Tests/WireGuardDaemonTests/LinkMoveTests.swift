import Glibc
import Testing
@testable import WireGuardDaemon

/// The interface moved to another network namespace (`ip link set IFACE netns NS`, the kernel's netns selftest
/// topology) is not deleted: the birth namespace sees the same RTM_DELLINK for both, and the daemon once exited
/// on a move. Real TUN devices and a scratch namespace, so root.
@Suite(.serialized, .tags(.integration)) struct LinkMoveTests {
    @Test func moveToAnotherNamespaceIsNotDeletion() throws {
        let name = "wgdmv\(getpid() % 10_000)", namespace = "wgdmvns\(getpid() % 10_000)"
        let tun = try TUN(name: name)
        var monitor = try LinkMonitor(interface: name, tunFD: tun.fd)
        try #require(Self.run("ip netns add \(namespace)"))
        defer { _ = Self.run("ip netns del \(namespace)") }
        try #require(Self.run("ip link set \(name) up && ip link set \(name) netns \(namespace)"))

        let change = Self.read(&monitor)
        #expect(!change.deleted, "a move read as a deletion")
        #expect(change.isUp && !change.wentDown, "after a move the device runs as up")
        #expect(monitor.moved && monitor.fd == -1)
        #expect(Self.readError(tun) == nil, "the moved interface's TUN failed")

        // Deleted where it now lives: the TUN says so.
        try #require(Self.run("ip -n \(namespace) link del \(name)"))
        guard case .interfaceDeleted = Self.readError(tun) else {
            Issue.record("the TUN of the deleted interface still reads")
            return
        }
    }

    @Test func deletionIsDeletion() throws {
        let name = "wgdmd\(getpid() % 10_000)"
        let tun = try TUN(name: name)
        var monitor = try LinkMonitor(interface: name, tunFD: tun.fd)
        try #require(Self.run("ip link del \(name)"))
        #expect(Self.read(&monitor).deleted)
        #expect(!monitor.moved)
    }

    /// The monitor's first non-empty read (up to 2 s).
    private static func read(_ monitor: inout LinkMonitor) -> (wentDown: Bool, isUp: Bool, deleted: Bool) {
        var p = pollfd(fd: monitor.fd, events: Int16(POLLIN), revents: 0)
        _ = poll(&p, 1, 2000)
        return monitor.read()
    }

    /// What one read of the TUN throws (nothing waits on it).
    private static func readError(_ tun: TUN) -> DaemonError? {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 2048, alignment: 16)
        defer { buffer.deallocate() }
        do throws(DaemonError) { _ = try tun.read(into: buffer) } catch { return error }
        return nil
    }

    private static func run(_ command: String) -> Bool { system(command + " >/dev/null 2>&1") == 0 }
}
