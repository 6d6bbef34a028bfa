import Addresses
import Glibc
import Testing
@testable import WireGuardDaemon

/// The daemon's endpoints and networks are module Addresses' types: what it parses from UAPI and reads from
/// recvfrom must come out the same way in `get` and in sendto.
@Suite struct SocketAddressTests {
    @Test func parsesAndPrintsLikeUAPI() {
        for text in ["192.0.2.1:51820", "[2001:db8::1]:1", "[fe80::1%7]:65535", "0.0.0.0:0"] {
            #expect(SocketAddress(text)?.description == text)
        }
        #expect(SocketAddress("[fe80::1%lo]:1")?.scopeID == if_nametoindex("lo"))
        for bad in ["192.0.2.1", "[::1]", "[1.2.3.4]:1", "fe80::1:1", "1.2.3.4:65536", "[fe80::1%nosuchif0]:1",
                    "example.com:1", "[::1]x:1", "1.2.3.4:-1", ""] {
            #expect(SocketAddress(bad) == nil, "\(bad)")
        }
    }

    @Test func sockaddrRoundTrip() {
        for text in ["192.0.2.1:51820", "[2001:db8::1]:1", "[fe80::1%7]:9"] {
            let endpoint = SocketAddress(text)!
            var storage = sockaddr_storage()
            endpoint.withSockaddr { pointer, length in
                withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: UnsafeRawBufferPointer(start: pointer, count: Int(length))) }
            }
            #expect(SocketAddress(&storage) == endpoint)
        }
        // What a dual-stack socket reports for an IPv4 sender is that IPv4 sender.
        var mapped = sockaddr_in6()
        mapped.sin6_family = sa_family_t(AF_INET6)
        mapped.sin6_port = UInt16(4000).bigEndian
        withUnsafeMutableBytes(of: &mapped.sin6_addr) { $0.copyBytes(from: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1]) }
        var storage = sockaddr_storage()
        withUnsafeMutableBytes(of: &storage) { raw in withUnsafeBytes(of: mapped) { raw.copyMemory(from: $0) } }
        #expect(SocketAddress(&storage) == SocketAddress("192.0.2.1:4000"))
        #expect(Endpoint("192.0.2.1:4000")!.cookieSource == [192, 0, 2, 1, 0x0f, 0xa0])
    }

    @Test func addressesAndNetworks() {
        #expect(IPAddress("192.0.2.1")?.bytes == [192, 0, 2, 1])
        #expect(IPAddress(bytes: [192, 0, 2, 1])?.high == 0xc000_0201_0000_0000)
        #expect(IPAddress("2001:db8::ff")?.bytes == [0x20, 1, 0xd, 0xb8] + [UInt8](repeating: 0, count: 11) + [0xff])
        #expect(IPAddress("::ffff:1.2.3.4")?.isIPv6 == true && IPAddress("01.2.3.4") == nil && IPAddress("10.1") == nil)
        #expect(IPAddress("10.0.0.1") != IPAddress("::a00:1"))
        #expect(IPNetwork("10.1.2.3")?.description == "10.1.2.3/32")
        #expect(IPNetwork("10.1.2.3/24")?.masked.description == "10.1.2.0/24")
        #expect(IPNetwork("10.1.2.3/0")?.masked.description == "0.0.0.0/0")
        #expect(IPNetwork("fd00:1:ffff:3::1/33")?.masked.description == "fd00:1:8000::/33")
        #expect(IPNetwork("fd00::1:2/100")?.masked.description == "fd00::/100")
        #expect(IPNetwork("fd00::1/128")?.masked.description == "fd00::1/128")
    }
}
