import Dispatch
import WireGuard

/// The interface's control connection, opened once (before any privilege drop) and used from async code.
/// WireGuardControl blocks, so every call runs on one serial queue instead of a cooperative thread.
final class WireGuardLink: Sendable {
    private let control: any WireGuardControl
    private let queue: DispatchQueue

    init(control: any WireGuardControl, interface: String) {
        self.control = control
        queue = DispatchQueue(label: "wg-ice.wireguard.\(interface)")
    }

    func device() async throws -> Device {
        try await perform { try $0.device() }
    }

    func apply(_ change: DeviceChange) async throws {
        try await perform { try $0.apply(change) }
    }

    func close() { queue.sync { control.close() } }

    private func perform<T: Sendable>(_ body: @escaping @Sendable (any WireGuardControl) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { [control] in continuation.resume(with: Result { try body(control) }) }
        }
    }
}
