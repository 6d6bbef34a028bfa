import Keys
import Foundation
import ICE
import Session
import WireGuard

/// What became of one peer, and how it is printed.
struct PeerResult {
    enum Outcome: String, Codable {
        /// A pair was selected (without --apply nothing was changed).
        case resolved
        /// WireGuard's endpoint and the kernel redirection are in place.
        case applied
        /// --apply, but the pair needs the userspace proxy (relayed or TCP): nothing was changed.
        case notApplied = "not-applied"
        /// No pair before the timeout, or applying it failed.
        case failed
    }

    let peer: Key
    let pair: SelectedPair?
    var outcome: Outcome

    init(peer: Key, pair: SelectedPair?) {
        self.peer = peer
        self.pair = pair
        outcome = pair == nil ? .failed : .resolved
    }

    /// Tab-separated like `wg show dump`: key, endpoint, local type, remote type, transport, outcome.
    var line: String {
        let fields = pair.map { [endpoint($0.remote), $0.local.type.rawValue, $0.remote.type.rawValue, $0.local.transport.rawValue] }
            ?? Array(repeating: "(none)", count: 4)
        return ([peer.base64] + fields + [outcome.rawValue]).joined(separator: "\t")
    }

    struct JSON: Codable {
        var publicKey: String
        var result: Outcome
        var endpoint: String?
        var localType: String?
        var remoteType: String?
        var transport: String?
        var local: String?
    }

    var json: JSON {
        JSON(publicKey: peer.base64, result: outcome, endpoint: pair.map { endpoint($0.remote) },
             localType: pair?.local.type.rawValue, remoteType: pair?.remote.type.rawValue,
             transport: pair?.local.transport.rawValue, local: pair.map { endpoint($0.local) })
    }
}

private func endpoint(_ candidate: ICECandidate) -> String {
    candidate.isIPv6 ? "[\(candidate.address)]:\(candidate.port)" : "\(candidate.address):\(candidate.port)"
}

func jsonReport(interface: String, _ results: [PeerResult]) throws -> String {
    struct Report: Codable {
        var interface: String
        var peers: [PeerResult.JSON]
    }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    return String(decoding: try encoder.encode(Report(interface: interface, peers: results.map(\.json))), as: UTF8.self)
}

/// Why a peer has no pair at the deadline, for stderr: the state its agent had reached and what that state
/// means here.
func noPairReason(_ peer: PeerStatus?, signaling: [String: Bool]) -> String {
    let state = peer?.iceState ?? "starting"
    let meaning: String? = if let error = peer?.error {
        error
    } else if !signaling.values.contains(true) {
        "no signaling server connected"
    } else {
        switch state {
        case "gathering": "no usable candidate from the peer (does it run a wg-ice session with the same Signaling?)"
        case "checking": "no candidate pair answered the connectivity checks"
        case "failed": "every candidate pair failed the connectivity checks"
        default: nil
        }
    }
    return "ICE state \(state)" + (meaning.map { ": \($0)" } ?? "")
}
