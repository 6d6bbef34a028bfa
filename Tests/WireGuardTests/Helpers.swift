import Keys
import Foundation
import Synchronization
import TestSupport
import WireGuard

func key() -> PrivateKey { PrivateKey.generate() }
func publicKey() -> Key { PrivateKey.generate().publicKey }

/// `wg showconf` of an interface: the oracle the clients are compared with. wireguard-go lists peers in Go map
/// order, which changes from one read to the next, so peer sections are sorted (see `sortedPeers`).
func wgShowconf(_ interface: String) throws -> String {
    sortedPeers(try runChecked(["wg", "showconf", interface]).stdout)
}

/// A showconf text with its `[Peer]` sections sorted; everything else stays byte for byte.
func sortedPeers(_ showconf: String) -> String {
    var sections = showconf.components(separatedBy: "\n[Peer]\n")
    let interface = sections.removeFirst()
    return ([interface] + sections.sorted()).joined(separator: "\n[Peer]\n")
}

/// Collects a monitor's events on a task so tests can wait for a count with a deadline.
final class EventLog: Sendable {
    private final class Storage: Sendable {
        let events = Mutex<[WireGuardEvent]>([])
    }
    private let storage = Storage()
    private let task: Task<Void, Never>

    init(_ monitor: WireGuardMonitor) {
        let storage = storage
        task = Task {
            for await event in monitor { storage.events.withLock { $0.append(event) } }
        }
    }

    var all: [WireGuardEvent] { storage.events.withLock { $0 } }

    func of(_ interface: String) -> [WireGuardEvent] { all.filter { $0.interface == interface } }

    /// Waits until `condition` holds for the events so far, or the deadline passes; then returns them.
    @discardableResult
    func wait(seconds: Double = 10, until condition: ([WireGuardEvent]) -> Bool) async -> [WireGuardEvent] {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition(all) { break }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return all
    }

    func cancel() { task.cancel() }
}

extension WireGuardEvent {
    var interface: String {
        switch self {
        case .interfaceAdded(let name), .interfaceRemoved(let name): name
        case .peerAdded(let name, _), .peerRemoved(let name, _), .peerChanged(let name, _): name
        case .endpointChanged(let name, _, _), .handshake(let name, _, _): name
        }
    }
}
