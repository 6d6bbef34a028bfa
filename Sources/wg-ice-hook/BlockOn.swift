import Foundation

/// Runs async work from a synchronous command: the calling thread waits while the work runs on Swift's
/// cooperative pool (see `WgIceHook` for why commands start synchronously).
func blockOn<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    let outcome = Outcome<T>()
    let done = DispatchSemaphore(value: 0)
    Task {
        do { outcome.result = .success(try await body()) } catch { outcome.result = .failure(error) }
        done.signal()
    }
    done.wait()
    return try outcome.result!.get()
}

/// Carries the result from the task to the waiting thread; the semaphore orders the accesses.
private final class Outcome<T>: @unchecked Sendable {
    var result: Result<T, any Error>?
}
