import Glibc
import Testing
@testable import WireGuardDaemon

/// The daemon's IPv4 socket sends without DF, as kernel WireGuard does (PMTU black holes).
@Suite struct DontFragmentTests {
    @Test func theIPv4SocketNeverSetsDF() throws {
        var sockets = UDPSockets()
        #expect(sockets.bind(port: 0) == 0)
        defer { sockets.closeAll() }
        var mode: Int32 = -1
        var length = socklen_t(MemoryLayout<Int32>.size)
        #expect(getsockopt(sockets.fd4, Int32(IPPROTO_IP), IP_MTU_DISCOVER, &mode, &length) == 0)
        #expect(mode == Int32(IP_PMTUDISC_DONT))
    }
}
