import Dispatch

/// Work that blocks a thread (process spawns and waits, DNS, UAPI/netlink round trips) must not run on Swift
/// concurrency's cooperative pool: it has one thread per core (two on small machines), and every task of the
/// process, every peer's among them, waits while one of them is blocked.
///
/// `Blocking.run` does the work on a queue of its own (GCD gives queues like it threads beyond the core count
/// when they block) and resumes the caller with the result.
public enum Blocking {
    private static let queue = DispatchQueue(label: "wg-ice.blocking", attributes: .concurrent)

    public static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try body() }) }
        }
    }

    public static func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            queue.async { continuation.resume(returning: body()) }
        }
    }
}
