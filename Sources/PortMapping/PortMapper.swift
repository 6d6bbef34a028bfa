import Addresses
import Blocking
import Logging
import Retry

/// Keeps UDP mappings alive for as long as asked: creates, renews at half the lease, re-creates after a router
/// restart (PCP/NAT-PMP epoch going backwards, a UPnP mapping gone) or an external address change, deletes on stop.
///
/// Methods are tried PCP → NAT-PMP → UPnP; the first that works is remembered for the gateway and tried first
/// from then on. Each kept port has a task of its own; PCP/NAT-PMP exchanges share one socket and take turns.
public actor PortMapper {
    private let methods: Set<PortMappingMethod>
    private let logger: Logger
    private let clock: any PortMapperClock
    private let tuning: PortMapperTuning
    private let gatewayLookup: @Sendable () -> IPAddress?
    private let makeTransport: @Sendable () -> (any PortMapTransport)?
    private let discovery: any UPnPDiscovery

    private var transport: (any PortMapTransport)?
    private var kept: [UInt16: Kept] = [:]
    private var nextGeneration = 0
    private var stopped = false
    /// What the current gateway answered: the method that worked, its epochs, its UPnP device.
    private var gateway: IPAddress?
    private var preferred: PortMappingMethod?
    private var epochs: [PortMappingMethod: EpochTracker] = [:]
    private var upnp: (any UPnPGateway)?
    private var upnpPermanentOnly = false
    /// Causes already logged since the last success: one line per cause, not one per retry.
    private var loggedCauses: Set<String> = []
    private var exchangeBusy = false
    private var exchangeWaiters: [CheckedContinuation<Void, Never>] = []

    private struct Kept {
        var local: IPAddress
        var continuation: AsyncStream<PortMapping?>.Continuation
        var generation: Int
        var task: Task<Void, Never>?
        var mapping: PortMapping?
        /// The last mapping held, lost or not: its external port is asked for again.
        var last: PortMapping?
        var published = false
        /// PCP: the same nonce for every renewal of the mapping (RFC 6887 §11.2).
        var nonce: [UInt8]
    }

    /// - Parameters:
    ///   - gateway: the PCP/NAT-PMP server's address; by default the IPv4 default route's gateway.
    ///   - transport: the socket for PCP/NAT-PMP, created on first use.
    public init(methods: Set<PortMappingMethod> = Set(PortMappingMethod.allCases), logger: Logger,
                clock: any PortMapperClock = SystemPortMapperClock(), tuning: PortMapperTuning = .standard,
                gateway: @escaping @Sendable () -> IPAddress? = { DefaultGateway.current() },
                transport: @escaping @Sendable () -> (any PortMapTransport)? = { UDPPortMapTransport() },
                upnp: any UPnPDiscovery = MiniUPnPDiscovery()) {
        self.methods = methods
        self.logger = logger
        self.clock = clock
        self.tuning = tuning
        gatewayLookup = gateway
        makeTransport = transport
        discovery = upnp
    }

    /// Every change of the mapping for this internal UDP port (local IPv4 address `local`): a mapping, or nil when
    /// lost/refused. A renewal that keeps the method and external address is not a change. Keeping a port already
    /// kept replaces the previous stream (which finishes); a stream dropped or cancelled by its consumer releases the
    /// mapping.
    public func keep(udpPort: UInt16, local: IPAddress) -> AsyncStream<PortMapping?> {
        let (stream, continuation) = AsyncStream.makeStream(of: PortMapping?.self, bufferingPolicy: .bufferingNewest(4))
        guard !stopped, !methods.isEmpty else {
            continuation.finish()
            return stream
        }
        if let old = kept.removeValue(forKey: udpPort) {
            old.task?.cancel()
            old.continuation.finish()
        }
        nextGeneration += 1
        let generation = nextGeneration
        var nonce = [UInt8](repeating: 0, count: 12)
        var rng = SystemRandomNumberGenerator()
        for i in nonce.indices { nonce[i] = rng.next() }
        kept[udpPort] = Kept(local: local, continuation: continuation, generation: generation, nonce: nonce)
        continuation.onTermination = { [weak self] _ in
            Task { await self?.streamEnded(udpPort: udpPort, generation: generation) }
        }
        start(udpPort)
        return stream
    }

    /// Deletes that mapping on the router (best effort, at most `tuning.releaseBound` waiting for it) and finishes
    /// its stream.
    public func release(udpPort: UInt16) async {
        guard let entry = kept.removeValue(forKey: udpPort) else { return }
        entry.task?.cancel()
        entry.continuation.finish()
        await delete([entry].compactMap { entry in entry.mapping.map { ($0, entry.nonce, entry.local) } })
    }

    /// Releases every mapping; returns within about `tuning.releaseBound` (it runs inside `wg-quick down`).
    public func stop() async {
        stopped = true
        let all = kept
        kept = [:]
        for entry in all.values {
            entry.task?.cancel()
            entry.continuation.finish()
        }
        await delete(all.values.compactMap { entry in entry.mapping.map { ($0, entry.nonce, entry.local) } })
    }

    // MARK: - The per-port loop

    private func start(_ port: UInt16) {
        guard let generation = kept[port]?.generation else { return }
        kept[port]?.task?.cancel()
        kept[port]?.task = Task { await self.run(port, generation: generation) }
    }

    private func streamEnded(udpPort: UInt16, generation: Int) async {
        guard kept[udpPort]?.generation == generation else { return }
        await release(udpPort: udpPort)
    }

    private func isCurrent(_ port: UInt16, _ generation: Int) -> Bool {
        !Task.isCancelled && kept[port]?.generation == generation
    }

    private func run(_ port: UInt16, generation: Int) async {
        var failures = 0
        while isCurrent(port, generation), let local = kept[port]?.local {
            let previous = kept[port]?.mapping
            guard let mapping = await obtain(port, local: local, previous: previous ?? kept[port]?.last,
                                             generation: generation) else {
                guard isCurrent(port, generation) else { return }
                // A mapping that is still within its lifetime is kept through a failed renewal.
                let now = clock.now
                let valid = previous.map { $0.lifetime == .zero || now < $0.obtained + $0.lifetime } ?? false
                if !valid { publish(port, nil) }
                var delay = Backoff(initial: tuning.retryInitial, maximum: tuning.retryMaximum).delay(forAttempt: failures)
                if let previous, valid, previous.lifetime > .zero { delay = min(delay, previous.obtained + previous.lifetime - now) }
                failures += 1
                do { try await clock.sleep(until: now + max(delay, .milliseconds(100))) } catch { return }
                continue
            }
            guard isCurrent(port, generation) else { return }
            failures = 0
            publish(port, mapping)
            let renewIn = mapping.lifetime == .zero ? tuning.permanentLeaseRefresh : mapping.lifetime * tuning.renewFraction
            let renewAt = mapping.obtained + renewIn
            while isCurrent(port, generation) {
                let wake = min(renewAt, clock.now + tuning.probeInterval)
                do { try await clock.sleep(until: wake) } catch { return }
                guard isCurrent(port, generation), clock.now < renewAt else { break }
                if await mappingLost(mapping, local: local, generation: generation) {
                    guard isCurrent(port, generation) else { return }
                    kept[port]?.mapping = nil  // re-created from scratch, not renewed
                    break
                }
            }
        }
    }

    private func publish(_ port: UInt16, _ mapping: PortMapping?) {
        guard var entry = kept[port] else { return }
        let changed = !entry.published || (mapping == nil) != (entry.mapping == nil)
            || (mapping.map { !$0.sameEndpoint(as: entry.mapping) } ?? false)
        entry.mapping = mapping
        entry.last = mapping ?? entry.last
        entry.published = true
        kept[port] = entry
        if changed {
            if let mapping {
                logger.info("port mapping", metadata: ["method": "\(mapping.method.rawValue)", "port": "\(port)",
                                                       "external": "\(mapping.external)", "lifetime": "\(mapping.lifetime)"])
            }
            entry.continuation.yield(mapping)
        }
    }

    // MARK: - Obtaining a mapping

    private enum Attempt {
        case mapped(PortMapping)
        case failed(String)
        /// PCP answered with an UNSUPP_VERSION (or a NAT-PMP server answered): NAT-PMP next.
        case unsupported
        /// No answer on port 5351 at all: NAT-PMP would not get one either.
        case silent
    }

    /// One try of every method, the remembered one first. Nil when none worked (each cause logged once).
    private func obtain(_ port: UInt16, local: IPAddress, previous: PortMapping?, generation: Int) async -> PortMapping? {
        let current = gatewayLookup()
        if current != gateway {
            gateway = current
            preferred = nil
            epochs = [:]
            upnp = nil
            upnpPermanentOnly = false
        }
        var order = PortMappingMethod.allCases.filter { methods.contains($0) }
        if let preferred, let i = order.firstIndex(of: preferred) { order.insert(order.remove(at: i), at: 0) }
        var skipNATPMP = false
        // SSDP discovery (a second of waiting) runs while PCP and NAT-PMP are asked: a router that speaks only UPnP
        // is mapped a second after the gateway's silence, not a second after it.
        var prefetched: Task<(any UPnPGateway)?, Never>?
        if upnp == nil, order.first != .upnp, order.contains(.upnp) {
            let discovery = discovery, wait = tuning.upnpDiscovery
            prefetched = Task { await Blocking.run { discovery.discover(wait: wait) } }
        }
        for method in order {
            guard isCurrent(port, generation) else { return nil }
            let attempt: Attempt
            switch method {
            case .pcp, .natpmp:
                guard let current else {
                    note(method, "no IPv4 default route")
                    continue
                }
                if method == .natpmp, skipNATPMP { continue }
                attempt = method == .pcp
                    ? await tryPCP(port, local: local, gateway: current, previous: previous, generation: generation)
                    : await tryNATPMP(port, gateway: current, previous: previous)
            case .upnp:
                attempt = await tryUPnP(port, local: local, previous: previous, prefetched: prefetched)
            }
            switch attempt {
            case .mapped(let mapping):
                if preferred != method, preferred != nil {
                    logger.info("port mapping method changed", metadata: ["method": "\(method.rawValue)"])
                }
                preferred = method
                loggedCauses.removeAll()
                return mapping
            case .failed(let cause): note(method, cause)
            case .unsupported: note(method, "the router does not speak it")
            case .silent:
                note(method, "no answer from \(current.map { "\($0)" } ?? "?"):\(gatewayServerPort)")
                if method == .pcp { skipNATPMP = true }
            }
        }
        return nil
    }

    /// Logs a failure cause once until the next success; the set is small (causes are result codes and a few fixed
    /// strings) and capped.
    private func note(_ method: PortMappingMethod, _ cause: String) {
        logOnce("\(method.rawValue): \(cause)", .info, "port mapping failed", ["method": "\(method.rawValue)", "cause": "\(cause)"])
    }

    private func logOnce(_ key: String, _ level: Logger.Level, _ message: Logger.Message, _ metadata: Logger.Metadata) {
        guard !loggedCauses.contains(key), loggedCauses.count < 64 else { return }
        loggedCauses.insert(key)
        logger.log(level: level, message, metadata: metadata)
    }

    private func tryPCP(_ port: UInt16, local: IPAddress, gateway: IPAddress, previous: PortMapping?,
                        generation: Int) async -> Attempt {
        guard let nonce = kept[port]?.nonce else { return .failed("released") }
        let request = PCP.MapRequest(nonce: nonce, lifetime: seconds(tuning.lease), client: local, internalPort: port,
                                     suggestedExternalPort: previous?.external.port ?? port,
                                     suggestedExternalAddress: previous?.external.address)
        let reply: PCPReply? = await exchange(request.serialize(), gateway: gateway) { datagram in
            if datagram.first == NATPMP.version, datagram.count >= 2 { return .natpmpServer }
            guard let response = PCP.Response.parse(datagram), response.opcode == PCP.opMap else { return nil }
            if response.version != PCP.version || response.resultCode == PCP.ResultCode.unsuppVersion.rawValue {
                return .natpmpServer
            }
            // An answer to another request (an old nonce, another port) is not this one's.
            if let map = response.map, map.nonce != nonce || map.internalPort != port { return nil }
            return .response(response)
        }
        guard let reply else { return .silent }
        guard case .response(let response) = reply else { return .unsupported }
        let now = clock.now
        restartCheck(.pcp, epoch: response.epoch, at: now, detectedBy: port)
        guard response.resultCode == PCP.ResultCode.success.rawValue else {
            let name = PCP.ResultCode(rawValue: response.resultCode).map { "\($0)" } ?? "unknown"
            return .failed("result code \(response.resultCode) (\(name))")
        }
        guard let map = response.map, !map.externalAddress.isIPv6, map.externalAddress.high != 0, map.externalPort != 0 else {
            return .failed("success without an external address")
        }
        guard response.lifetime > 0 else { return .failed("lifetime 0 granted") }
        return .mapped(PortMapping(method: .pcp, internalPort: port,
                                   external: SocketAddress(address: map.externalAddress, port: map.externalPort),
                                   lifetime: .seconds(response.lifetime), obtained: now))
    }

    private enum PCPReply { case response(PCP.Response), natpmpServer }

    private func tryNATPMP(_ port: UInt16, gateway: IPAddress, previous: PortMapping?) async -> Attempt {
        let addressReply: NATPMP.Response? = await exchange(NATPMP.externalAddressRequest(), gateway: gateway) {
            NATPMP.Response.parse($0).flatMap { $0.opcode == NATPMP.opExternalAddress ? $0 : nil }
        }
        guard let addressReply else { return .silent }
        restartCheck(.natpmp, epoch: addressReply.epoch, at: clock.now, detectedBy: port)
        guard case .externalAddress(let address)? = addressReply.body else { return natpmpFailure(addressReply.resultCode) }
        guard address.high != 0 else { return .failed("external address 0.0.0.0") }
        let request = NATPMP.MapRequest(internalPort: port, suggestedExternalPort: previous?.external.port ?? port,
                                        lifetime: seconds(tuning.lease))
        let mapReply: NATPMP.Response? = await exchange(request.serialize(), gateway: gateway) {
            guard let response = NATPMP.Response.parse($0), response.opcode == NATPMP.opMapUDP else { return nil }
            if case .map(let internalPort, _, _)? = response.body, internalPort != port { return nil }
            return response
        }
        guard let mapReply else { return .silent }
        let now = clock.now
        restartCheck(.natpmp, epoch: mapReply.epoch, at: now, detectedBy: port)
        guard case .map(_, let externalPort, let lifetime)? = mapReply.body else { return natpmpFailure(mapReply.resultCode) }
        guard lifetime > 0 else { return .failed("lifetime 0 granted") }
        guard externalPort != 0 else { return .failed("external port 0") }
        return .mapped(PortMapping(method: .natpmp, internalPort: port,
                                   external: SocketAddress(address: address, port: externalPort),
                                   lifetime: .seconds(lifetime), obtained: now))
    }

    private func natpmpFailure(_ code: UInt16) -> Attempt {
        if code == NATPMP.ResultCode.unsupportedVersion.rawValue { return .unsupported }
        let name = NATPMP.ResultCode(rawValue: code).map { "\($0)" } ?? "unknown"
        return .failed("result code \(code) (\(name))")
    }

    private func tryUPnP(_ port: UInt16, local: IPAddress, previous: PortMapping?,
                         prefetched: Task<(any UPnPGateway)?, Never>? = nil) async -> Attempt {
        let igd: any UPnPGateway
        if let upnp {
            igd = upnp
        } else {
            let discovery = discovery, wait = tuning.upnpDiscovery
            let found = if let prefetched { await prefetched.value } else { await Blocking.run { discovery.discover(wait: wait) } }
            guard let found else { return .failed("no UPnP IGD found") }
            upnp = found
            igd = found
        }
        guard let external = await Blocking.run({ igd.externalAddress() }), !external.isIPv6, external.high != 0 else {
            upnp = nil  // rediscovered next time: the device may have changed
            return .failed("no external address from the IGD")
        }
        var lease = upnpPermanentOnly ? 0 : seconds(tuning.lease)
        var candidate = previous?.method == .upnp ? previous!.external.port : port
        var conflicts = 0
        while true {
            let (code, granted): (Int32, UInt16)
            if igd.offersAnyPortMapping {
                let tryPort = candidate, tryLease = lease
                (code, granted) = await Blocking.run {
                    igd.addAnyPortMapping(externalPort: tryPort, internalPort: port, client: local, leaseSeconds: tryLease)
                }
            } else {
                let tryPort = candidate, tryLease = lease
                code = await Blocking.run {
                    igd.addPortMapping(externalPort: tryPort, internalPort: port, client: local, leaseSeconds: tryLease)
                }
                granted = candidate
            }
            switch code {
            case 0:
                return .mapped(PortMapping(method: .upnp, internalPort: port,
                                           external: SocketAddress(address: external, port: granted),
                                           lifetime: .seconds(lease), obtained: clock.now))
            case UPnPError.onlyPermanentLeasesSupported where lease != 0:
                upnpPermanentOnly = true
                lease = 0
            case UPnPError.conflictInMappingEntry where conflicts < tuning.upnpConflictRetries:
                conflicts += 1
                candidate = UInt16.random(in: 1024...65535)
            default:
                if code < 0 { upnp = nil }
                return .failed("error \(code)")
            }
        }
    }

    // MARK: - Router restarts and address changes

    /// Between renewals: is the mapping gone (router restarted, external address changed)? A silent router is not
    /// taken as a loss: the mapping stands until the renewal says otherwise.
    private func mappingLost(_ mapping: PortMapping, local: IPAddress, generation: Int) async -> Bool {
        guard let gateway, gatewayLookup() == gateway else { return true }
        let port = mapping.internalPort
        switch mapping.method {
        case .pcp:
            let reply: PCP.Response? = await exchange(PCP.announceRequest(client: local), gateway: gateway) {
                PCP.Response.parse($0).flatMap { $0.opcode == PCP.opAnnounce ? $0 : nil }
            }
            guard let reply else { return false }
            return restartCheck(.pcp, epoch: reply.epoch, at: clock.now, detectedBy: port)
        case .natpmp:
            let reply: NATPMP.Response? = await exchange(NATPMP.externalAddressRequest(), gateway: gateway) {
                NATPMP.Response.parse($0).flatMap { $0.opcode == NATPMP.opExternalAddress ? $0 : nil }
            }
            guard let reply else { return false }
            if restartCheck(.natpmp, epoch: reply.epoch, at: clock.now, detectedBy: port) { return true }
            if case .externalAddress(let address)? = reply.body, address != mapping.external.address {
                logger.notice("external address changed", metadata: ["method": "nat-pmp", "address": "\(address)"])
                return true
            }
            return false
        case .upnp:
            guard let igd = upnp else { return true }
            let external = mapping.external, discovery = discovery, wait = tuning.upnpDiscovery
            var (address, holds) = await Blocking.run {
                (igd.externalAddress(), igd.holdsMapping(externalPort: external.port, internalPort: port, client: local))
            }
            if holds == nil {
                // No answer at the known control URL: a restarted router may serve it elsewhere (another HTTP port).
                guard let found = await Blocking.run({ discovery.discover(wait: wait) }) else { return false }
                upnp = found
                (address, holds) = await Blocking.run {
                    (found.externalAddress(), found.holdsMapping(externalPort: external.port, internalPort: port, client: local))
                }
            }
            if let address, address != external.address {
                logger.notice("external address changed", metadata: ["method": "upnp", "address": "\(address)"])
                return true
            }
            if holds == false {
                logger.notice("router lost the port mapping", metadata: ["method": "upnp", "port": "\(port)"])
                return true
            }
            return false
        }
    }

    /// Feeds an answer's epoch to the method's tracker; on a restart, every other port mapped with that method is
    /// re-created now (the caller handles its own). True when a restart was seen.
    @discardableResult
    private func restartCheck(_ method: PortMappingMethod, epoch: UInt32, at now: ContinuousClock.Instant,
                              detectedBy port: UInt16) -> Bool {
        guard epochs[method, default: EpochTracker()].observe(epoch, at: now) else { return false }
        // Once per episode: a router whose epoch stands still while it refuses would say so at every retry.
        logOnce("\(method.rawValue): restart", .notice, "router restarted (epoch out of step): re-creating port mappings",
                ["method": "\(method.rawValue)"])
        for (other, entry) in kept where other != port && entry.mapping?.method == method {
            kept[other]?.mapping = nil
            start(other)
        }
        return true
    }

    // MARK: - PCP/NAT-PMP exchanges

    /// Sends `request` to the gateway's port 5351 and retransmits it (initial wait doubling) until an answer that
    /// `match` accepts arrives or the attempt gives up. One exchange at a time: they share the socket.
    private func exchange<Reply>(_ request: [UInt8], gateway: IPAddress,
                                 match: ([UInt8]) -> Reply?) async -> Reply? {
        guard let transport = transportInUse() else { return nil }
        await acquireExchange()
        defer { releaseExchange() }
        let server = SocketAddress(address: gateway, port: gatewayServerPort)
        let giveUp = clock.now + tuning.attemptGiveUp
        let retransmit = Backoff(initial: tuning.retransmitInitial, maximum: tuning.attemptGiveUp)
        var sends = 0
        while !Task.isCancelled, clock.now < giveUp {
            await transport.send(request, to: server)
            let until = min(clock.now + retransmit.delay(forAttempt: sends), giveUp)
            while !Task.isCancelled, case let left = until - clock.now, left > .zero {
                guard let got = await transport.receive(timeout: left) else { break }
                if got.source == server, let reply = match(got.datagram) { return reply }
            }
            sends += 1
        }
        return nil
    }

    private func transportInUse() -> (any PortMapTransport)? {
        if transport == nil { transport = makeTransport() }
        if transport == nil { note(.pcp, "no UDP socket") }
        return transport
    }

    private func acquireExchange() async {
        guard exchangeBusy else {
            exchangeBusy = true
            return
        }
        await withCheckedContinuation { exchangeWaiters.append($0) }
    }

    private func releaseExchange() {
        if exchangeWaiters.isEmpty { exchangeBusy = false } else { exchangeWaiters.removeFirst().resume() }
    }

    // MARK: - Deleting

    /// Deletes `mappings` on the router: PCP/NAT-PMP requests with lifetime 0 sent once each, their answers awaited,
    /// UPnP deletions in parallel; returns after `tuning.releaseBound` at most, whatever the router does.
    private func delete(_ mappings: [(mapping: PortMapping, nonce: [UInt8], local: IPAddress)]) async {
        guard !mappings.isEmpty else { return }
        let deadline = ContinuousClock.now + tuning.releaseBound
        var waiting: Set<UInt16> = []
        let server = gateway.map { SocketAddress(address: $0, port: gatewayServerPort) }
        var upnpDone: [Task<Void, Never>] = []
        for (mapping, nonce, local) in mappings {
            switch mapping.method {
            case .pcp, .natpmp:
                guard let server, let transport else { continue }
                let request = mapping.method == .pcp
                    ? PCP.MapRequest(nonce: nonce, lifetime: 0, client: local,
                                     internalPort: mapping.internalPort, suggestedExternalPort: 0,
                                     suggestedExternalAddress: nil).serialize()
                    : NATPMP.MapRequest(internalPort: mapping.internalPort, suggestedExternalPort: 0, lifetime: 0).serialize()
                await transport.send(request, to: server)
                waiting.insert(mapping.internalPort)
            case .upnp:
                guard let igd = upnp else { continue }
                let port = mapping.external.port
                upnpDone.append(Task { await Blocking.run { igd.deletePortMapping(externalPort: port) } })
            }
            logger.info("port mapping deleted", metadata: ["method": "\(mapping.method.rawValue)", "port": "\(mapping.internalPort)"])
        }
        if let transport, let server {
            while !waiting.isEmpty, case let left = deadline - ContinuousClock.now, left > .zero {
                guard let got = await transport.receive(timeout: left) else { break }
                guard got.source == server else { continue }
                let datagram = got.datagram
                if let map = PCP.Response.parse(datagram)?.map { waiting.remove(map.internalPort) }
                if case .map(let internalPort, _, _)? = NATPMP.Response.parse(datagram)?.body { waiting.remove(internalPort) }
            }
        }
        for task in upnpDone {
            let left = deadline - ContinuousClock.now
            guard left > .zero else { break }
            await Self.bounded(left) { await task.value }
        }
    }

    /// Waits for `body` or `limit`, whichever comes first; `body` goes on in the background after the limit.
    private static func bounded(_ limit: Duration, _ body: @escaping @Sendable () async -> Void) async {
        let (signal, fire) = AsyncStream.makeStream(of: Void.self)
        let work = Task { await body(); fire.yield() }
        let timer = Task { try? await Task.sleep(for: limit); fire.yield() }
        for await _ in signal { break }
        timer.cancel()
        _ = work
    }

    private func seconds(_ duration: Duration) -> UInt32 { UInt32(clamping: duration.components.seconds) }
}
