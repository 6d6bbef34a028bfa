import Addresses
@testable import PortMapping
import Testing

/// The wire formats, field by field against RFC 6886 and RFC 6887, and the parsers' refusal of anything else.
@Suite struct NATPMPCodecTests {
    @Test func mapRequestLayout() {
        let bytes = NATPMP.MapRequest(internalPort: 0x1234, suggestedExternalPort: 0xabcd, lifetime: 7200).serialize()
        // RFC 6886 §3.3: version 0, opcode 1 (UDP), 2 reserved, internal port, suggested external port, lifetime.
        #expect(bytes == [0, 1, 0, 0, 0x12, 0x34, 0xab, 0xcd, 0, 0, 0x1c, 0x20])
        #expect(NATPMP.MapRequest.parse(bytes) == NATPMP.MapRequest(internalPort: 0x1234, suggestedExternalPort: 0xabcd, lifetime: 7200))
        #expect(NATPMP.externalAddressRequest() == [0, 0])
    }

    @Test func mapResponseLayoutAndRoundTrip() {
        // RFC 6886 §3.3: version, 128 + opcode, result, epoch, internal port, mapped external port, lifetime.
        let wire: [UInt8] = [0, 129, 0, 0, 0, 0, 0x03, 0xe8, 0x12, 0x34, 0x56, 0x78, 0, 0, 0x0e, 0x10]
        let response = NATPMP.Response.parse(wire)
        #expect(response == NATPMP.Response(opcode: 1, resultCode: 0, epoch: 1000,
                                            body: .map(internalPort: 0x1234, externalPort: 0x5678, lifetime: 3600)))
        #expect(response?.serialize() == wire)
    }

    @Test func externalAddressResponse() {
        let wire: [UInt8] = [0, 128, 0, 0, 0, 0, 0, 7, 5, 6, 7, 8]
        #expect(NATPMP.Response.parse(wire) == NATPMP.Response(opcode: 0, resultCode: 0, epoch: 7, body: .externalAddress(IPAddress("5.6.7.8")!)))
    }

    @Test func errorResponsesNeedOnlyTheHeader() {
        let refused = NATPMP.Response.parse([0, 129, 0, 2, 0, 0, 0, 9])
        #expect(refused?.resultCode == 2)
        #expect(refused?.body == nil)
    }

    @Test func truncatedAndGarbageRejected() {
        let map: [UInt8] = [0, 129, 0, 0, 0, 0, 0x03, 0xe8, 0x12, 0x34, 0x56, 0x78, 0, 0, 0x0e, 0x10]
        for n in 0..<map.count { #expect(NATPMP.Response.parse(Array(map.prefix(n))) == nil, "prefix \(n)") }
        let address: [UInt8] = [0, 128, 0, 0, 0, 0, 0, 7, 5, 6, 7, 8]
        for n in 0..<address.count { #expect(NATPMP.Response.parse(Array(address.prefix(n))) == nil, "prefix \(n)") }
        #expect(NATPMP.Response.parse([1] + map.dropFirst()) == nil)          // version 1
        #expect(NATPMP.Response.parse([0, 1] + map.dropFirst(2)) == nil)      // a request, not a response
        #expect(NATPMP.Response.parse([0, 130] + map.dropFirst(2)) == nil)   // TCP mapping / unknown opcode
        #expect(NATPMP.MapRequest.parse([0, 1, 0, 0, 0x12]) == nil)
    }
}

@Suite struct PCPCodecTests {
    let nonce: [UInt8] = Array(1...12)

    @Test func mapRequestLayout() {
        let request = PCP.MapRequest(nonce: nonce, lifetime: 7200, client: IPAddress("192.168.1.20")!, internalPort: 51820,
                                     suggestedExternalPort: 51821, suggestedExternalAddress: nil)
        let bytes = request.serialize()
        #expect(bytes.count == 60)
        // RFC 6887 §7.1: version 2, R=0 + opcode MAP, 2 reserved, lifetime, client address as IPv4-mapped IPv6.
        #expect(Array(bytes[0..<8]) == [2, 1, 0, 0, 0, 0, 0x1c, 0x20])
        #expect(Array(bytes[8..<24]) == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 168, 1, 20])
        // §11.1: nonce, protocol 17, 3 reserved, internal port, suggested external port, suggested external address.
        #expect(Array(bytes[24..<36]) == nonce)
        #expect(Array(bytes[36..<40]) == [17, 0, 0, 0])
        #expect(Array(bytes[40..<44]) == [0xca, 0x6c, 0xca, 0x6d])
        #expect(Array(bytes[44..<60]) == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0])
        #expect(PCP.MapRequest.parse(bytes) == request)
    }

    @Test func announceLayout() {
        let bytes = PCP.announceRequest(client: IPAddress("10.0.0.2")!)
        #expect(bytes.count == 24)
        #expect(Array(bytes[0..<8]) == [2, 0, 0, 0, 0, 0, 0, 0])
    }

    func mapResponse(result: UInt8 = 0) -> [UInt8] {
        // RFC 6887 §7.2: version, R=1 + opcode, reserved, result, lifetime, epoch, 96 reserved bits, then MAP data.
        var wire: [UInt8] = [2, 0x81, 0, result, 0, 0, 0x0e, 0x10, 0, 0, 0x03, 0xe8] + [UInt8](repeating: 0, count: 12)
        wire += nonce + [17, 0, 0, 0, 0xca, 0x6c, 0x9c, 0x40] + [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 5, 6, 7, 8]
        return wire
    }

    @Test func mapResponseLayoutAndRoundTrip() {
        let response = PCP.Response.parse(mapResponse())
        #expect(response == PCP.Response(version: 2, opcode: 1, resultCode: 0, lifetime: 3600, epoch: 1000,
                                         map: .init(nonce: nonce, internalPort: 51820, externalPort: 40000,
                                                    externalAddress: IPAddress("5.6.7.8")!)))
        #expect(response?.serialize() == mapResponse())
    }

    @Test func errorResultKeptWithOrWithoutOpcodeData() {
        #expect(PCP.Response.parse(mapResponse(result: 2))?.resultCode == 2)
        #expect(PCP.Response.parse(Array(mapResponse(result: 8).prefix(24)))?.resultCode == 8)
        // A server that speaks another version answers UNSUPP_VERSION with its own version number.
        #expect(PCP.Response.parse([1, 0x81, 0, 1] + [UInt8](repeating: 0, count: 20))?.version == 1)
    }

    @Test func truncatedAndGarbageRejected() {
        let wire = mapResponse()
        for n in 0..<wire.count { #expect(PCP.Response.parse(Array(wire.prefix(n))) == nil, "prefix \(n)") }
        #expect(PCP.Response.parse(wire + [0, 0]) == nil)                              // not a multiple of 4
        #expect(PCP.Response.parse(wire + [UInt8](repeating: 0, count: 1100)) == nil)  // over 1100 bytes
        var request = wire
        request[1] = 1                                                                // R bit clear
        #expect(PCP.Response.parse(request) == nil)
        var tcp = wire
        tcp[36] = 6                                                                   // a TCP mapping
        #expect(PCP.Response.parse(tcp) == nil)
        #expect(PCP.MapRequest.parse(Array(wire.prefix(59))) == nil)
    }

    @Test func randomInputNeverTraps() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            let count = Int.random(in: 0...80, using: &rng)
            var bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) }
            // Half the inputs start like a real answer, so the deeper fields get garbage too.
            if count > 2, Bool.random(using: &rng) { bytes[0] = [0, 2].randomElement(using: &rng)!; bytes[1] |= 0x80 }
            _ = PCP.Response.parse(bytes)
            _ = NATPMP.Response.parse(bytes)
            _ = PCP.MapRequest.parse(bytes)
            _ = NATPMP.MapRequest.parse(bytes)
        }
    }
}

@Suite struct GatewayAndEpochTests {
    @Test func defaultRouteGatewayFromProcNetRoute() {
        let table = """
        Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
        lan0\t0001A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
        wlan0\t00000000\t0102A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0
        lan0\t00000000\t0101A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0
        """
        #expect(DefaultGateway.parse(routeTable: table) == IPAddress("192.168.1.1"))
        #expect(DefaultGateway.parse(routeTable: "Iface\tDestination\n") == nil)
        #expect(DefaultGateway.parse(routeTable: "garbage\n\u{0}\u{1}\n lan0 00000000 zz 0003 0 0 0 00000000") == nil)
        // A default route without a gateway (a point-to-point link) is not one.
        #expect(DefaultGateway.parse(routeTable: "h\nwg0\t00000000\t00000000\t0001\t0\t0\t0\t00000000\t0\t0\t0") == nil)
    }

    @Test func epochRules() {
        let t0 = ContinuousClock.now
        var tracker = EpochTracker()
        // (epoch, client seconds, restart seen)
        let answers: [(UInt32, Int64, Bool)] = [
            (1000, 0, false),
            (1060, 60, false),         // in step
            (1061, 61, false),
            (5, 120, true),            // went back: restarted
            (65, 180, false),
            (70, 3600, true),          // fell behind the client's time: restarted
            (100_000, 3610, true),     // ran far ahead: state not continuous
        ]
        for (epoch, at, restart) in answers {
            let seen = tracker.observe(epoch, at: t0 + .seconds(at))
            #expect(seen == restart, "epoch \(epoch) at \(at) s")
        }
    }
}
