import CNice
import Foundation

/// The SDP text of a candidate as exchanged over signaling: `candidate:...`, tolerant of a leading `a=`
/// and of trailing CR/LF and blanks (libnice's parser rejects a trailing `\r`).
public func normalizedCandidateSDP(_ text: String) -> String {
    let s = text.trimmingCharacters(in: .whitespacesAndNewlines)
    return s.hasPrefix("a=") ? String(s.dropFirst(2)) : s
}

extension String {
    /// A NUL-terminated C string in a fixed-size buffer.
    init(cBuffer: [CChar]) {
        self.init(decoding: cBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

extension ICECandidate {
    /// Reads a libnice candidate; `agent` formats its SDP.
    init?(_ c: UnsafeMutablePointer<NiceCandidate>, agent: OpaquePointer) {
        guard let type = CandidateType(c.pointee.type), let transport = CandidateTransport(c.pointee.transport),
              let raw = nice_agent_generate_local_candidate_sdp(agent, c) else { return nil }
        defer { g_free(raw) }
        sdp = normalizedCandidateSDP(String(cString: raw))
        self.type = type
        self.transport = transport
        (address, port) = Self.string(&c.pointee.addr)
        (baseAddress, basePort) = Self.string(&c.pointee.base_addr)
        if baseAddress.isEmpty || basePort == 0 && transport == .udp { (baseAddress, basePort) = (address, port) }
    }

    private static func string(_ a: UnsafeMutablePointer<NiceAddress>) -> (String, UInt16) {
        guard nice_address_is_valid(a) != 0 else { return ("", 0) }
        var buffer = [CChar](repeating: 0, count: Int(NICE_ADDRESS_STRING_LEN))
        nice_address_to_string(a, &buffer)
        return (String(cBuffer: buffer), UInt16(nice_address_get_port(a)))
    }
}

extension CandidateType {
    init?(_ t: NiceCandidateType) {
        switch t {
        case NICE_CANDIDATE_TYPE_HOST: self = .host
        case NICE_CANDIDATE_TYPE_SERVER_REFLEXIVE: self = .srflx
        case NICE_CANDIDATE_TYPE_PEER_REFLEXIVE: self = .prflx
        case NICE_CANDIDATE_TYPE_RELAYED: self = .relay
        default: return nil
        }
    }
}

extension CandidateTransport {
    init?(_ t: NiceCandidateTransport) {
        switch t {
        case NICE_CANDIDATE_TRANSPORT_UDP: self = .udp
        case NICE_CANDIDATE_TRANSPORT_TCP_ACTIVE: self = .tcpActive
        case NICE_CANDIDATE_TRANSPORT_TCP_PASSIVE: self = .tcpPassive
        case NICE_CANDIDATE_TRANSPORT_TCP_SO: self = .tcpSimultaneousOpen
        default: return nil
        }
    }
}

extension ICEState {
    init(_ s: guint) {
        switch NiceComponentState(rawValue: s) {
        case NICE_COMPONENT_STATE_GATHERING: self = .gathering
        case NICE_COMPONENT_STATE_CONNECTING: self = .checking
        case NICE_COMPONENT_STATE_CONNECTED: self = .connected
        case NICE_COMPONENT_STATE_READY: self = .ready
        case NICE_COMPONENT_STATE_FAILED: self = .failed
        default: self = .disconnected
        }
    }
}
