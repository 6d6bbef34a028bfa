@testable import SignalServer
import Testing

/// What the per-address limits count by; the server tests cover IPv4 loopback sources only.
@Suite struct SourceAddressTests {
    @Test func ipv6CountsPerSlash64AndMappedIPv4AsIPv4() {
        #expect(SourceAddress.key(ip: "2001:db8:1:2:3:4:5:6") == "2001:db8:1:2::/64")
        #expect(SourceAddress.key(ip: "2001:db8:1:2::ffff") == SourceAddress.key(ip: "2001:db8:1:2:aaaa::1"))
        #expect(SourceAddress.key(ip: "2001:db8:1:3::1") != SourceAddress.key(ip: "2001:db8:1:2::1"))
        #expect(SourceAddress.key(ip: "::ffff:192.0.2.7") == "192.0.2.7")
        #expect(SourceAddress.key(ip: "192.0.2.7") == "192.0.2.7")
    }

    @Test func grpcRemotePeerNames() {
        #expect(SourceAddress.key(remotePeer: "ipv4:192.0.2.7:50000") == "192.0.2.7")
        #expect(SourceAddress.key(remotePeer: "ipv6:[2001:db8:1:2::9]:50000") == "2001:db8:1:2::/64")
        #expect(SourceAddress.key(remotePeer: "unix:/run/x.sock") == "local")
    }
}
