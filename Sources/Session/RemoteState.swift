import ICE

/// What the peer has told us over signaling, per ICE generation. Candidates may overtake their credentials
/// (several backends, reconnects), so those of a generation not yet known wait here, bounded.
struct RemoteState {
    private(set) var credentials: ICECredentials?
    private(set) var generation: UInt32 = 0
    private var seen: Set<String> = []
    private var pending: [(generation: UInt32, sdp: String)] = []
    private var pendingEnd: Set<UInt32> = []

    static let pendingLimit = ICEAgent.maxRemoteCandidates * 2

    enum CredentialsOutcome { case duplicate, first, changed }

    /// Records the peer's credentials; returns what they mean and the candidates that were waiting for them.
    mutating func accept(_ new: ICECredentials, generation: UInt32) -> (CredentialsOutcome, [String], Bool) {
        // A new ufrag is authoritative even with a lower generation: the peer's process restarted.
        if credentials == new { return (.duplicate, [], false) }
        let outcome: CredentialsOutcome = credentials == nil ? .first : .changed
        credentials = new
        self.generation = generation
        seen = []
        let ready = pending.filter { $0.generation == generation }.map(\.sdp).filter { seen.insert($0).inserted }
        pending = []
        let ended = pendingEnd.contains(generation)
        pendingEnd = []
        return (outcome, ready, ended)
    }

    /// True when the candidate should go to the agent now (known generation, not seen before).
    mutating func accept(candidate sdp: String, generation: UInt32) -> Bool {
        guard credentials != nil, generation == self.generation else {
            if pending.count < Self.pendingLimit { pending.append((generation, sdp)) }
            return false
        }
        return seen.insert(sdp).inserted
    }

    /// True when end-of-candidates applies to the current generation.
    mutating func acceptEnd(generation: UInt32) -> Bool {
        guard credentials != nil, generation == self.generation else {
            pendingEnd.insert(generation)
            return false
        }
        return true
    }
}
