import Addresses
@testable import PortMapping
import TestSupport
import Testing

/// The mapper's logic against a scripted router on a manual clock: method order and fallback, renewal at half the
/// lease, re-creation after a restart, failures logged once and retried, deletion on release and stop.
@Suite struct PortMapperTests {
    let clock = ManualClock()
    let log = LogCollector()
    let local = IPAddress("192.168.1.20")!

    func mapper(_ router: FakeRouter, methods: Set<PortMappingMethod> = Set(PortMappingMethod.allCases),
                igd: FakeIGD? = nil, tuning: PortMapperTuning = .standard) -> PortMapper {
        PortMapper(methods: methods, logger: log.logger, clock: clock, tuning: tuning, gateway: { FakeRouter.address },
                   transport: { router }, upnp: FakeDiscovery(igd: igd))
    }

    /// The next value of the stream, waited for in real time (the mapper's tasks run concurrently with the test).
    func next(_ iterator: inout AsyncStream<PortMapping?>.Iterator) async throws -> PortMapping?? {
        try await withThrowingTaskGroup(of: PortMapping??.self) { group in
            nonisolated(unsafe) var it = iterator
            group.addTask { await it.next() }
            group.addTask { try await Task.sleep(for: .seconds(5)); throw Timeout(description: "no stream value in 5 s") }
            let value = try await group.next()!
            group.cancelAll()
            iterator = it
            return value
        }
    }

    /// Waits until the mapper sleeps on the manual clock (it has nothing left to do now).
    func idle() async throws {
        try await waitUntil("the mapper to wait on its clock", seconds: 5) { clock.sleepers > 0 }
    }

    /// Ports 51820 and 51821 kept and mapped, with their streams past the first mapping.
    func twoMappedPorts(_ router: FakeRouter)
        async throws -> (PortMapper, AsyncStream<PortMapping?>.Iterator, AsyncStream<PortMapping?>.Iterator) {
        let m = mapper(router)
        var a = await m.keep(udpPort: 51820, local: local).makeAsyncIterator()
        var b = await m.keep(udpPort: 51821, local: local).makeAsyncIterator()
        _ = try await next(&a)
        _ = try await next(&b)
        return (m, a, b)
    }

    @Test func pcpMappingAsGranted() async throws {
        let router = FakeRouter(.pcp, clock: clock)
        let m = mapper(router)
        var it = await m.keep(udpPort: 51820, local: local).makeAsyncIterator()
        let mapping = try #require(try await next(&it) ?? nil)
        #expect(mapping.method == .pcp)
        #expect(mapping.external == SocketAddress("5.6.7.8:51820"))
        #expect(mapping.internalPort == 51820)
        #expect(mapping.lifetime == .seconds(7200))
        let request = try #require(router.mapRequests.first)
        #expect(request.client == local)
        #expect(request.lifetime == 7200)
        #expect(request.internalPort == 51820)
        await m.stop()
    }

    @Test func renewsAtHalfTheLeaseWithTheSameNonce() async throws {
        let router = FakeRouter(.pcp, clock: clock)
        let m = mapper(router)
        var it = await m.keep(udpPort: 51820, local: local).makeAsyncIterator()
        _ = try await next(&it)
        for _ in 0..<59 {                      // 59 minutes of epoch probes, no renewal
            try await idle()
            clock.advance(by: .seconds(60))
        }
        try await idle()
        #expect(router.mapRequests.count == 1)
        #expect(router.announces == 59)
        clock.advance(by: .seconds(60))        // 3600 s: half the 7200 s lease
        try await waitUntil("the renewal", seconds: 5) { router.mapRequests.count == 2 }
        #expect(router.mapRequests[1].nonce == router.mapRequests[0].nonce)
        #expect(router.mapRequests[1].suggestedExternalPort == 51820)
        #expect(router.sent.last!.at == .seconds(3600))
        await m.stop()
    }

    @Test func routerRestartReCreatesEveryMapping() async throws {
        let router = FakeRouter(.pcp, clock: clock)
        let (m, a, b) = try await twoMappedPorts(router)
        defer { withExtendedLifetime((a, b)) {} }  // a dropped stream releases its mapping
        try await idle()
        clock.advance(by: .seconds(30))
        router.restart()                       // epoch back to 0, mappings gone
        try await idle()
        clock.advance(by: .seconds(31))        // the next epoch probe
        let afterRestart = {
            router.sent.filter { $0.at >= .seconds(30) }.compactMap { PCP.MapRequest.parse($0.datagram) }.filter { $0.lifetime > 0 }
        }
        try await waitUntil("both mappings re-created", seconds: 5) { afterRestart().count >= 2 }
        #expect(Set(afterRestart().map(\.internalPort)) == [51820, 51821])
        #expect(log.count("router restarted") >= 1)
        await m.stop()
    }

    @Test func natpmpWhenThePCPRequestGetsUnsupportedVersion() async throws {
        let router = FakeRouter(.natpmpOnly, clock: clock)
        let m = mapper(router)
        var it = await m.keep(udpPort: 51820, local: local).makeAsyncIterator()
        let mapping = try #require(try await next(&it) ?? nil)
        #expect(mapping.method == .natpmp)
        #expect(mapping.external == SocketAddress("5.6.7.8:52820"))
        // Remembered for this gateway: the renewal goes straight to NAT-PMP.
        let pcpBefore = router.mapRequests.count
        try await idle()
        clock.advance(by: .seconds(3600))
        try await waitUntil("the NAT-PMP renewal", seconds: 5) { router.natpmpMapRequests.count == 2 }
        #expect(router.mapRequests.count == pcpBefore)
        await m.stop()
    }

    @Test func retransmitsFrom250MillisecondsDoublingAndGivesUpAfter2Seconds() async throws {
        let router = FakeRouter(.silent, clock: clock)
        let m = mapper(router, methods: [.pcp])
        var it = await m.keep(udpPort: 51820, local: local).makeAsyncIterator()
        #expect(try await next(&it) == .some(nil))
        #expect(router.sent.map(\.at) == [.zero, .milliseconds(250), .milliseconds(750)])
        await m.stop()
    }

    @Test func silenceOnPort5351SkipsNATPMPForUPnP() async throws {
        let router = FakeRouter(.silent, clock: clock)
        let igd = FakeIGD()
        let m = mapper(router, igd: igd)
        var it = await m.keep(udpPort: 51820, local: local).makeAsyncIterator()
        let mapping = try #require(try await next(&it) ?? nil)
        #expect(mapping.method == .upnp)
        #expect(mapping.external == SocketAddress("5.6.7.8:51820"))
        #expect(router.natpmpMapRequests.isEmpty)
        #expect(igd.adds == [.init(externalPort: 51820, lease: 7200)])
        await m.stop()
        #expect(igd.deleted == [51820])
    }

    @Test func upnpConflictTriesAnotherPortAndPermanentOnlyRetriesWithLeaseZero() async throws {
        let router = FakeRouter(.silent, clock: clock)
        let igd = FakeIGD(codes: [718, 725])
        let m = mapper(router, methods: [.upnp], igd: igd)
        var it = await m.keep(udpPort: 51820, local: local).makeAsyncIterator()
        let mapping = try #require(try await next(&it) ?? nil)
        #expect(igd.adds.count == 3)
        #expect(igd.adds[0] == .init(externalPort: 51820, lease: 7200))
        #expect(igd.adds[1].externalPort != 51820)
        #expect(igd.adds[2] == .init(externalPort: igd.adds[1].externalPort, lease: 0))
        #expect(mapping.lifetime == .zero)
        #expect(mapping.external.port == igd.adds[1].externalPort)
        // A permanent lease is added again by the hour, still with lease 0.
        try await idle()
        clock.advance(by: .seconds(3600))
        try await waitUntil("the UPnP refresh", seconds: 5) { igd.adds.count == 4 }
        #expect(igd.adds[3] == .init(externalPort: mapping.external.port, lease: 0))
        await m.stop()
    }

    @Test func upnpMappingGoneIsReCreated() async throws {
        let router = FakeRouter(.silent, clock: clock)
        let igd = FakeIGD()
        let m = mapper(router, methods: [.upnp], igd: igd)
        var it = await m.keep(udpPort: 51820, local: local).makeAsyncIterator()
        _ = try await next(&it)
        try await idle()
        igd.forget()
        clock.advance(by: .seconds(60))
        try await waitUntil("the re-creation", seconds: 5) { igd.adds.count == 2 }
        await m.stop()
    }

    /// Garbage, refusals and lifetime 0: nil once, one log line per cause however many retries, and retries that
    /// back off.
    @Test(arguments: [
        (FakeRouter.Mode.garbage([0x02, 0x81, 0xff]), "no answer"),
        (.garbage([UInt8](repeating: 0xee, count: 64)), "no answer"),
        (.pcpResult(2), "result code 2 (notAuthorized)"),
        (.natpmpResult(3), "result code 3 (networkFailure)"),
        (.lifetimeZero, "lifetime 0 granted"),
    ])
    func badRouterYieldsNilLogsOnceAndRetries(mode: FakeRouter.Mode, cause: String) async throws {
        let router = FakeRouter(mode, clock: clock)
        let m = mapper(router, methods: [.pcp, .natpmp])
        var it = await m.keep(udpPort: 51820, local: local).makeAsyncIterator()
        #expect(try await next(&it) == .some(nil))
        try await idle()
        let logged = log.all
        #expect(log.count(cause) >= 1, "\(logged)")
        for _ in 0..<8 {
            try await idle()
            let sentBefore = router.sent.count
            clock.advance(by: .seconds(600))
            try await waitUntil("a retry", seconds: 5) { router.sent.count > sentBefore }
        }
        try await idle()
        #expect(log.all == logged, "a retry logged again")
        await m.stop()
    }

    @Test func retryBackoffDoublesUpToTheMaximum() async throws {
        let router = FakeRouter(.pcpResult(8), clock: clock)
        let m = mapper(router, methods: [.pcp])
        var it = await m.keep(udpPort: 51820, local: local).makeAsyncIterator()
        _ = try await next(&it)
        var starts: [Duration] = []
        for _ in 0..<9 {
            try await idle()
            let before = router.sent.count
            clock.advance(by: .seconds(1))
            while router.sent.count == before {
                try await idle()
                clock.advance(by: .seconds(1))
            }
            starts.append(router.sent.last!.at)
        }
        let gaps = zip(starts, starts.dropFirst()).map { ($1 - $0).components.seconds }
        #expect(gaps == [10, 20, 40, 80, 160, 300, 300, 300])
        await m.stop()
    }

    @Test func recoversWhenTheRouterStartsAnswering() async throws {
        let router = FakeRouter(.pcpResult(8), clock: clock)
        let m = mapper(router, methods: [.pcp])
        var it = await m.keep(udpPort: 51820, local: local).makeAsyncIterator()
        #expect(try await next(&it) == .some(nil))
        router.setMode(.pcp)
        try await idle()
        clock.advance(by: .seconds(5))
        let mapping = try #require(try await next(&it) ?? nil)
        #expect(mapping.method == .pcp)
        await m.stop()
    }

    @Test func releaseDeletesWithLifetimeZeroAndStopIsFast() async throws {
        let router = FakeRouter(.pcp, clock: clock)
        var (m, a, b) = try await twoMappedPorts(router)
        await m.release(udpPort: 51820)
        let deletion = try #require(router.mapRequests.last)
        #expect(deletion.lifetime == 0 && deletion.internalPort == 51820)
        #expect(deletion.nonce == router.mapRequests.first { $0.internalPort == 51820 }!.nonce)
        let endA = await a.next()
        #expect(endA == nil)     // the stream finished
        let start = ContinuousClock.now
        await m.stop()
        #expect(ContinuousClock.now - start < .milliseconds(300))
        #expect(router.mapRequests.last!.lifetime == 0 && router.mapRequests.last!.internalPort == 51821)
        let endB = await b.next()
        #expect(endB == nil)
    }

    @Test func stopReturnsFastWhenTheRouterIsGone() async throws {
        // A real socket to a gateway that never answers: the wait is bounded by wall time.
        let router = FakeRouter(.pcp, clock: clock)
        let m = mapper(router)
        var it = await m.keep(udpPort: 51820, local: local).makeAsyncIterator()
        _ = try await next(&it)
        router.setMode(.silent)
        let start = ContinuousClock.now
        await m.stop()
        #expect(ContinuousClock.now - start < .milliseconds(300))
    }
}
