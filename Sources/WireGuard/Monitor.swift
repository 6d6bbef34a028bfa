import Keys
import CNetlink
import Foundation
import Synchronization

/// What the monitor reports. Neither WireGuard implementation announces peer changes, so peer events come
/// from polling each interface and comparing with the previous poll; interface events come from inotify
/// (UAPI sockets) and rtnetlink (kernel links) as they happen.
public enum WireGuardEvent: Equatable, Sendable {
    case interfaceAdded(String)
    case interfaceRemoved(String)
    case peerAdded(interface: String, peer: Key)
    case peerRemoved(interface: String, peer: Key)
    /// Preshared key, keepalive or allowed IPs changed.
    case peerChanged(interface: String, peer: Key)
    case endpointChanged(interface: String, peer: Key, endpoint: Endpoint?)
    /// A handshake completed since the last poll (the latest one, if several did); for a peer first seen
    /// with a handshake already done, right after its `peerAdded`.
    case handshake(interface: String, peer: Key, at: Timestamp)
}

/// Watches WireGuard interfaces and their peers. Everything present at start is reported as added, then
/// changes as they happen. One consumer; the event buffer is bounded (`bufferLimit`, oldest events dropped
/// first when the consumer falls behind). Sockets are opened by `init`, so they belong to the calling thread's
/// network namespace; the work runs on a dedicated thread that stops, closing every descriptor, on `cancel()`
/// or when the iteration ends or its task is cancelled.
public final class WireGuardMonitor: AsyncSequence, Sendable {
    public typealias Element = WireGuardEvent
    private let stream: AsyncStream<WireGuardEvent>
    private let worker: MonitorWorker

    /// - Parameters:
    ///   - pollInterval: how often peers are read and compared.
    ///   - include: which interface names to watch (default all).
    public convenience init(pollInterval: Duration = .seconds(1), socketDirectory: String = WireGuard.defaultSocketDirectory,
                            bufferLimit: Int = 1024, include: @escaping @Sendable (String) -> Bool = { _ in true }) throws(WireGuardError) {
        try self.init(pollInterval: pollInterval, socketDirectory: socketDirectory, bufferLimit: bufferLimit, include: include,
                      fixed: [])
    }

    /// Watches one interface through a connection opened earlier (before a privilege drop: a UAPI socket is
    /// root's), and never opens another: once the interface goes away it is not followed again.
    public convenience init(interface: WireGuardInterface, control: any WireGuardControl, pollInterval: Duration = .seconds(1),
                            socketDirectory: String = WireGuard.defaultSocketDirectory, bufferLimit: Int = 1024) throws(WireGuardError) {
        let name = interface.name
        try self.init(pollInterval: pollInterval, socketDirectory: socketDirectory, bufferLimit: bufferLimit,
                      include: { $0 == name }, fixed: [(interface, control)])
    }

    private init(pollInterval: Duration, socketDirectory: String, bufferLimit: Int, include: @escaping @Sendable (String) -> Bool,
                 fixed: [(WireGuardInterface, any WireGuardControl)]) throws(WireGuardError) {
        let (stream, continuation) = AsyncStream.makeStream(of: WireGuardEvent.self, bufferingPolicy: .bufferingNewest(bufferLimit))
        let worker = try MonitorWorker(pollInterval: pollInterval, socketDirectory: socketDirectory, include: include,
                                       fixed: fixed, continuation: continuation)
        self.stream = stream
        self.worker = worker
        continuation.onTermination = { _ in worker.stop() }
        Thread { worker.run() }.start()
    }

    public func cancel() { worker.stop() }

    public func makeAsyncIterator() -> AsyncStream<WireGuardEvent>.Iterator { stream.makeAsyncIterator() }
}

/// The monitor's thread: a poll loop over the inotify fd, the rtnetlink fd and a wake-up eventfd, with a
/// timeout that is the time to the next peer poll.
private final class MonitorWorker: Sendable {
    private let pollInterval: Duration
    private let socketDirectory: String
    private let include: @Sendable (String) -> Bool
    private let continuation: AsyncStream<WireGuardEvent>.Continuation
    private let wake: Int32
    /// Pre-opened connections; when there are any, the worker opens none of its own.
    private let fixed: [(WireGuardInterface, any WireGuardControl)]
    // Owned by the worker thread once `run` starts; the lock only makes that hand-over explicit.
    private let state: Mutex<State>

    private struct Tracked {
        var control: any WireGuardControl
        var implementation: WireGuardInterface.Implementation
        var device: Device
    }

    private struct State: ~Copyable {
        var links: LinkWatcher
        var sockets: SocketDirectoryWatcher
        var tracked: [String: Tracked] = [:]
        /// UAPI sockets seen but not yet accepting connections (wireguard-go binds before it listens).
        var pending: Set<String> = []
    }

    init(pollInterval: Duration, socketDirectory: String, include: @escaping @Sendable (String) -> Bool,
         fixed: [(WireGuardInterface, any WireGuardControl)], continuation: AsyncStream<WireGuardEvent>.Continuation) throws(WireGuardError) {
        self.pollInterval = pollInterval
        self.fixed = fixed
        self.socketDirectory = socketDirectory
        self.include = include
        self.continuation = continuation
        // Watch first, list second: an interface appearing in between is seen twice, never missed.
        let links = try LinkWatcher()
        let sockets = try SocketDirectoryWatcher(directory: socketDirectory)
        wake = eventfd(0, Int32(EFD_CLOEXEC | EFD_NONBLOCK))
        guard wake >= 0 else { throw .system("eventfd", errno: errno) }
        state = Mutex(State(links: links, sockets: sockets))
    }

    // The eventfd lives as long as the worker, so a late `stop()` never writes to a reused descriptor number.
    deinit { close(wake) }

    func stop() {
        var one: UInt64 = 1
        _ = write(wake, &one, 8)
    }

    func run() {
        state.withLock { state in
            for (interface, control) in fixed { track(interface, control, &state) }
            for link in (try? LinkWatcher.list()) ?? [] where link.kind == RTNL.wireguardKind {
                add(link.name, .kernel, &state)
            }
            for name in WireGuard.userspaceInterfaces(socketDirectory: socketDirectory).sorted() {
                add(name, .userspace, &state)
            }
            var nextPoll = ContinuousClock.now + pollInterval
            while true {
                let wait = max(ContinuousClock.now.duration(to: nextPoll), .zero)
                let (seconds, attoseconds) = wait.components
                var fds = [pollfd(fd: wake, events: Int16(POLLIN), revents: 0),
                           pollfd(fd: state.sockets.fd, events: Int16(POLLIN), revents: 0),
                           pollfd(fd: state.links.fd, events: Int16(POLLIN), revents: 0)]
                let rc = poll(&fds, nfds_t(fds.count), Int32(seconds * 1000 + attoseconds / 1_000_000_000_000_000))
                if rc < 0 && errno != EINTR { break }
                if fds[0].revents != 0 { break }
                if fds[1].revents != 0 { handleSockets(&state) }
                if fds[2].revents != 0 { handleLinks(&state) }
                if ContinuousClock.now >= nextPoll {
                    for name in state.pending.sorted() { add(name, .userspace, &state) }
                    for name in state.tracked.keys.sorted() { refresh(name, &state) }
                    nextPoll = ContinuousClock.now + pollInterval
                }
            }
            for tracked in state.tracked.values { tracked.control.close() }
            state.tracked = [:]
        }
        continuation.finish()
    }

    private func handleSockets(_ state: inout State) {
        for event in state.sockets.drain() {
            switch event {
            case .created(let name): add(name, .userspace, &state)
            case .removed(let name): remove(name, .userspace, &state)
            }
        }
    }

    private func handleLinks(_ state: inout State) {
        for event in state.links.drain() {
            switch event {
            case .added(let link) where link.kind == RTNL.wireguardKind: add(link.name, .kernel, &state)
            case .removed(let link) where link.kind == RTNL.wireguardKind: remove(link.name, .kernel, &state)
            case .overrun:
                let current = Set(((try? LinkWatcher.list()) ?? []).filter { $0.kind == RTNL.wireguardKind }.map(\.name))
                for (name, tracked) in state.tracked where tracked.implementation == .kernel && !current.contains(name) {
                    remove(name, .kernel, &state)
                }
                for name in current.sorted() { add(name, .kernel, &state) }
            default: break
            }
        }
    }

    private func add(_ name: String, _ implementation: WireGuardInterface.Implementation, _ state: inout State) {
        guard include(name), state.tracked[name] == nil, fixed.isEmpty else { return }
        let interface = WireGuardInterface(name: name, implementation: implementation)
        guard let control = try? interface.open(socketDirectory: socketDirectory) else {
            if implementation == .userspace { state.pending.insert(name) }
            return
        }
        track(interface, control, &state)
    }

    private func track(_ interface: WireGuardInterface, _ control: any WireGuardControl, _ state: inout State) {
        let name = interface.name
        guard let device = try? control.device() else {
            control.close()
            // A pre-opened connection that already fails means the interface is gone for this monitor.
            if !fixed.isEmpty { continuation.yield(.interfaceRemoved(name)) }
            else if interface.implementation == .userspace { state.pending.insert(name) }
            return
        }
        state.pending.remove(name)
        state.tracked[name] = Tracked(control: control, implementation: interface.implementation, device: Device(name: name))
        continuation.yield(.interfaceAdded(name))
        update(name, device, &state)
    }

    private func remove(_ name: String, _ implementation: WireGuardInterface.Implementation, _ state: inout State) {
        state.pending.remove(name)
        guard let tracked = state.tracked[name], tracked.implementation == implementation else { return }
        tracked.control.close()
        state.tracked[name] = nil
        continuation.yield(.interfaceRemoved(name))
    }

    private func refresh(_ name: String, _ state: inout State) {
        guard let tracked = state.tracked[name] else { return }
        do {
            update(name, try tracked.control.device(), &state)
        } catch {
            // The daemon or link went away before inotify/rtnetlink said so.
            remove(name, tracked.implementation, &state)
        }
    }

    private func update(_ name: String, _ device: Device, _ state: inout State) {
        guard let old = state.tracked[name]?.device else { return }
        for event in WireGuardMonitor.diff(old, device) { continuation.yield(event) }
        state.tracked[name]?.device = device
    }
}

extension WireGuardMonitor {
    /// The events that turn `old` into `new`: per peer in `new`'s order added / changed / endpoint / handshake,
    /// then removals. Byte counters are not events.
    static func diff(_ old: Device, _ new: Device) -> [WireGuardEvent] {
        let name = new.name
        let before = Dictionary(old.peers.map { ($0.publicKey, $0) }, uniquingKeysWith: { a, _ in a })
        var events = [WireGuardEvent]()
        for peer in new.peers {
            guard let previous = before[peer.publicKey] else {
                events.append(.peerAdded(interface: name, peer: peer.publicKey))
                // A peer configured and handshaken between two polls: the handshake still happened.
                if let time = peer.lastHandshake { events.append(.handshake(interface: name, peer: peer.publicKey, at: time)) }
                continue
            }
            if previous.presharedKey != peer.presharedKey || previous.persistentKeepalive != peer.persistentKeepalive
                || Set(previous.allowedIPs) != Set(peer.allowedIPs) {
                events.append(.peerChanged(interface: name, peer: peer.publicKey))
            }
            if previous.endpoint != peer.endpoint {
                events.append(.endpointChanged(interface: name, peer: peer.publicKey, endpoint: peer.endpoint))
            }
            if let time = peer.lastHandshake, time != previous.lastHandshake {
                events.append(.handshake(interface: name, peer: peer.publicKey, at: time))
            }
        }
        let remaining = Set(new.peers.map(\.publicKey))
        for peer in old.peers where !remaining.contains(peer.publicKey) {
            events.append(.peerRemoved(interface: name, peer: peer.publicKey))
        }
        return events
    }
}
