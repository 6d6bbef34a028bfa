import Addresses
import Logging
@testable import PortMapping
import Synchronization

/// Time that moves only when told (or when the fake transport waits out a silence).
final class ManualClock: PortMapperClock {
    private struct State {
        var offset: Duration = .zero
        var sleepers: [Int: (deadline: ContinuousClock.Instant, continuation: CheckedContinuation<Void, any Error>)] = [:]
        var nextID = 0
    }
    private let base = ContinuousClock.now
    private let state = Mutex(State())

    var now: ContinuousClock.Instant { state.withLock { base + $0.offset } }
    var elapsed: Duration { state.withLock { $0.offset } }
    var sleepers: Int { state.withLock { $0.sleepers.count } }

    func sleep(until deadline: ContinuousClock.Instant) async throws {
        let id = state.withLock { s in s.nextID += 1; return s.nextID }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
                let resumeNow = state.withLock { s -> Bool in
                    if deadline <= base + s.offset || Task.isCancelled { return true }
                    s.sleepers[id] = (deadline, c)
                    return false
                }
                if resumeNow {
                    if Task.isCancelled { c.resume(throwing: CancellationError()) } else { c.resume() }
                }
            }
        } onCancel: {
            state.withLock { $0.sleepers.removeValue(forKey: id) }?.continuation.resume(throwing: CancellationError())
        }
    }

    func advance(by duration: Duration) {
        let due = state.withLock { s -> [CheckedContinuation<Void, any Error>] in
            s.offset += duration
            let now = base + s.offset
            let ready = s.sleepers.filter { $0.value.deadline <= now }
            for id in ready.keys { s.sleepers.removeValue(forKey: id) }
            return ready.values.map(\.continuation)
        }
        for c in due { c.resume() }
    }
}

/// A router behind the transport: answers PCP and NAT-PMP like a real one, or misbehaves as told. Silence is waited
/// out on the manual clock, so retransmission times are the mapper's own.
final class FakeRouter: PortMapTransport {
    enum Mode: Sendable {
        case pcp                     // PCP and NAT-PMP
        case natpmpOnly              // answers PCP with NAT-PMP's UNSUPP_VERSION
        case silent
        case garbage([UInt8])
        case pcpResult(UInt8)        // every PCP request refused with this result code, NAT-PMP ones with 2
        case natpmpResult(UInt16)    // NAT-PMP only, every request refused with this result code
        case lifetimeZero
    }
    struct Sent: Sendable { var datagram: [UInt8]; var at: Duration }
    private struct State {
        var mode: Mode
        var epochBase: UInt32 = 1000
        var epochStart: Duration = .zero
        var external = IPAddress("5.6.7.8")!
        var sent: [Sent] = []
        var pending: [[UInt8]] = []
    }
    static let address = IPAddress("192.168.1.1")!
    let clock: ManualClock
    private let state: Mutex<State>

    init(_ mode: Mode, clock: ManualClock) {
        self.clock = clock
        state = Mutex(State(mode: mode))
    }

    var sent: [Sent] { state.withLock { $0.sent } }
    var mapRequests: [PCP.MapRequest] { sent.compactMap { PCP.MapRequest.parse($0.datagram) } }
    var natpmpMapRequests: [NATPMP.MapRequest] { sent.compactMap { NATPMP.MapRequest.parse($0.datagram) } }
    var announces: Int { sent.filter { $0.datagram.count == 24 && $0.datagram[1] == PCP.opAnnounce }.count }

    func setMode(_ mode: Mode) { state.withLock { $0.mode = mode } }
    func setExternal(_ address: IPAddress) { state.withLock { $0.external = address } }
    /// The router reboots: its epoch starts again from 0.
    func restart() {
        let now = clock.elapsed
        state.withLock { $0.epochBase = 0; $0.epochStart = now }
    }

    func send(_ datagram: [UInt8], to destination: SocketAddress) async {
        let now = clock.elapsed
        state.withLock { s in
            s.sent.append(Sent(datagram: datagram, at: now))
            guard destination == SocketAddress(address: Self.address, port: 5351),
                  let answer = Self.answer(datagram, state: s, now: now) else { return }
            s.pending.append(answer)
        }
    }

    func receive(timeout: Duration) async -> (datagram: [UInt8], source: SocketAddress)? {
        if let next = state.withLock({ s in s.pending.isEmpty ? nil : s.pending.removeFirst() }) {
            return (next, SocketAddress(address: Self.address, port: 5351))
        }
        clock.advance(by: timeout)
        return nil
    }

    private static func answer(_ datagram: [UInt8], state s: State, now: Duration) -> [UInt8]? {
        let epoch = s.epochBase + UInt32((now - s.epochStart).components.seconds)
        switch s.mode {
        case .silent: return nil
        case .garbage(let bytes): return bytes
        default: break
        }
        if datagram.first == PCP.version {
            var response = PCP.Response(version: 2, opcode: datagram[1], resultCode: 0, lifetime: 0, epoch: epoch, map: nil)
            switch s.mode {
            case .natpmpOnly, .natpmpResult:
                return NATPMP.Response(opcode: datagram[1], resultCode: 1, epoch: epoch, body: nil).serialize()
            case .pcpResult(let code):
                response.resultCode = code
                response.lifetime = 30
            default: break
            }
            if let request = PCP.MapRequest.parse(datagram) {
                if response.resultCode == 0 { response.lifetime = min(request.lifetime, 7200) }
                if case .lifetimeZero = s.mode { response.lifetime = 0 }
                response.map = .init(nonce: request.nonce, internalPort: request.internalPort,
                                     externalPort: request.suggestedExternalPort == 0 ? request.internalPort : request.suggestedExternalPort,
                                     externalAddress: s.external)
            }
            return response.serialize()
        }
        if case .pcpResult = s.mode {
            return NATPMP.Response(opcode: datagram.count > 1 ? datagram[1] : 0, resultCode: 2, epoch: epoch, body: nil).serialize()
        }
        if case .natpmpResult(let code) = s.mode {
            return NATPMP.Response(opcode: datagram.count > 1 ? datagram[1] : 0, resultCode: code, epoch: epoch, body: nil).serialize()
        }
        if datagram == NATPMP.externalAddressRequest() {
            return NATPMP.Response(opcode: 0, resultCode: 0, epoch: epoch, body: .externalAddress(s.external)).serialize()
        }
        if let request = NATPMP.MapRequest.parse(datagram) {
            var lifetime = min(request.lifetime, 7200)
            if case .lifetimeZero = s.mode { lifetime = 0 }
            return NATPMP.Response(opcode: 1, resultCode: 0, epoch: epoch,
                                   body: .map(internalPort: request.internalPort, externalPort: request.internalPort + 1000,
                                              lifetime: lifetime)).serialize()
        }
        return nil
    }
}

/// A scripted UPnP IGD: the codes `addPortMapping` returns, in order (then 0).
final class FakeIGD: UPnPGateway {
    struct Add: Sendable, Equatable { var externalPort: UInt16; var lease: UInt32 }
    private let state: Mutex<(codes: [Int32], adds: [Add], deleted: [UInt16], holds: Bool)>
    let offersAnyPortMapping: Bool

    init(codes: [Int32] = [], anyPort: Bool = false) {
        state = Mutex((codes, [], [], true))
        offersAnyPortMapping = anyPort
    }

    var adds: [Add] { state.withLock { $0.adds } }
    var deleted: [UInt16] { state.withLock { $0.deleted } }
    func forget() { state.withLock { $0.holds = false } }

    func externalAddress() -> IPAddress? { IPAddress("5.6.7.8") }

    func addPortMapping(externalPort: UInt16, internalPort: UInt16, client: IPAddress, leaseSeconds: UInt32) -> Int32 {
        state.withLock { s in
            s.adds.append(Add(externalPort: externalPort, lease: leaseSeconds))
            if s.codes.isEmpty { s.holds = true; return 0 }
            return s.codes.removeFirst()
        }
    }

    func addAnyPortMapping(externalPort: UInt16, internalPort: UInt16, client: IPAddress,
                           leaseSeconds: UInt32) -> (code: Int32, port: UInt16) {
        let code = addPortMapping(externalPort: externalPort, internalPort: internalPort, client: client, leaseSeconds: leaseSeconds)
        return (code, code == 0 ? 40000 : 0)
    }

    func holdsMapping(externalPort: UInt16, internalPort: UInt16, client: IPAddress) -> Bool? { state.withLock { $0.holds } }
    func deletePortMapping(externalPort: UInt16) { state.withLock { $0.deleted.append(externalPort) } }
}

struct FakeDiscovery: UPnPDiscovery {
    var igd: FakeIGD?
    func discover(wait: Duration) -> (any UPnPGateway)? { igd }
}

/// Collects what the mapper logs.
final class LogCollector: Sendable {
    private let lines = Mutex<[String]>([])
    var all: [String] { lines.withLock { $0 } }
    func append(_ line: String) { lines.withLock { $0.append(line) } }
    func count(_ fragment: String) -> Int { all.filter { $0.contains(fragment) }.count }

    var logger: Logger {
        Logger(label: "portmap-test") { _ in CollectingHandler(collector: self) }
    }

    struct CollectingHandler: LogHandler {
        let collector: LogCollector
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            let fields = (event.metadata ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            collector.append("\(event.message) \(fields)")
        }
    }
}
