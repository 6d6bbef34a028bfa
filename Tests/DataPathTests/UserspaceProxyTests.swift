import DataPath
import Foundation
import ICE
import Testing

@Suite struct UserspaceProxyTests {
    /// The proxy's socket is bound while it is up and released by close (twice is fine).
    @Test func closeReleasesTheSocket() async throws {
        let agent = try await ICEAgent(configuration: ICEConfiguration(interfaces: ["lo"]), role: .controlling)
        let proxy = try UserspaceProxy(agent: agent, wireGuardPort: 9)
        let port = proxy.wireGuardEndpoint.port
        #expect(proxy.wireGuardEndpoint.host == "127.0.0.1" && port != 0)
        #expect(!canBind(port))
        await proxy.close()
        await proxy.close()
        #expect(canBind(port))
        await agent.close()
    }

    func canBind(_ port: UInt16) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }
}
