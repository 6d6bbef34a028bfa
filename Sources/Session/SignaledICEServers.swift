import ConfParser
import Foundation
import ICE
import Signaling
import Synchronization

/// The STUN/TURN servers the signaling server handed this session (`ICEServerGrant`), newest first, for the
/// agents made from now on. A file's own `URLs` take precedence: with them, the grant is not used at all.
final class SignaledICEServers: Sendable {
    private let latest = Mutex<ICEServerGrant?>(nil)

    var current: ICEServerGrant? { latest.withLock { $0 } }

    /// Keeps `grant`; true when it differs from the one kept (new servers or new credentials), so agents made
    /// with the old one should be replaced before their relay allocations can no longer be refreshed.
    func update(_ grant: ICEServerGrant) -> Bool {
        latest.withLock { kept in
            defer { kept = grant }
            return kept != grant
        }
    }
}

extension SessionSettings {
    /// Where a new agent's STUN/TURN servers come from: the file's `URLs` (with its `Username`/`Password`) when it
    /// has any, else the signaling server's grant, else none. `turns:` from a grant is left out: its TLS relay
    /// is set up only for the file's servers when the session starts (`TURNRelays`).
    func iceServers(signaled grant: ICEServerGrant?) -> (servers: [ICEServer], username: String?, password: String?, source: ICEServerSource) {
        if !ice.servers.isEmpty { return (ice.servers, ice.username, ice.password, .file) }
        guard let grant else { return ([], nil, nil, .none) }
        let servers = grant.servers.filter { $0.scheme != .turns && $0.scheme != .stuns }.compactMap { try? ICEServer($0) }
        return (servers, grant.username, grant.password, .signaling(grant.source))
    }

    /// `gatheringConfiguration()` with the servers `iceServers(signaled:)` chooses.
    func gatheringConfiguration(signaled grant: ICEServerGrant?) -> ICEConfiguration {
        var ice = gatheringConfiguration()
        let chosen = iceServers(signaled: grant)
        ice.servers = chosen.servers
        ice.username = chosen.username
        ice.password = chosen.password
        return ice
    }
}

/// Where a session's STUN/TURN servers come from, as `check` and `status` say it.
public enum ICEServerSource: Sendable, Equatable, CustomStringConvertible {
    case file
    case signaling(String)
    case none

    public var description: String {
        switch self {
        case .file: "the file (URLs)"
        case .signaling(let url): "the signaling server \(url)"
        case .none: "none (host candidates only)"
        }
    }
}
