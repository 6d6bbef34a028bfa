/// The mapper's time: renewals, retransmissions and retry delays. `ContinuousClock` in the session; tests drive a
/// manual one. Instants are ContinuousClock's so that `PortMapping.obtained` means the same in both.
public protocol PortMapperClock: Sendable {
    var now: ContinuousClock.Instant { get }
    func sleep(until deadline: ContinuousClock.Instant) async throws
}

public struct SystemPortMapperClock: PortMapperClock {
    public init() {}
    public var now: ContinuousClock.Instant { ContinuousClock.now }
    public func sleep(until deadline: ContinuousClock.Instant) async throws {
        try await ContinuousClock().sleep(until: deadline, tolerance: nil)
    }
}
