/// The supervisor's processes: real ones in `wg-ice-hook watch`, recorded ones in tests, so that restarts,
/// backoff and stopping are tested without spawning anything.
public protocol ChildProcesses {
    /// Starts the session of `interface`; its process id.
    mutating func start(_ interface: String) throws -> Int32
    /// How `pid` ended ("exited with status 1"), or nil while it runs. Reaps it.
    mutating func ended(_ pid: Int32) -> String?
    /// Asks `pid` to stop (SIGTERM): it says bye and removes its paths first.
    mutating func terminate(_ pid: Int32)
    /// Ends `pid` at once (SIGKILL) and reaps it.
    mutating func kill(_ pid: Int32)
}

/// Whether an interface present now should get a session.
public enum Readiness: Equatable, Sendable {
    case ready
    /// Not configured yet (no private key): asked again on the next reconcile.
    case notYet
    /// Logged once per appearance of the interface.
    case skipped(String)
}
