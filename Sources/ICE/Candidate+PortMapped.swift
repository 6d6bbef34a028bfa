extension ICECandidate {
    /// The candidate a router's port mapping gives a host candidate: server-reflexive (RFC 8445 §5.1.1.2 counts
    /// mapped addresses as such), with the host candidate as its base. ICE finds it through no STUN server, so it
    /// is made here and trickled like a gathered one.
    ///
    /// Ranked above STUN's server-reflexive candidates and below peer-reflexive and host ones: behind a NAT that
    /// maps every destination anew, STUN's address reaches nothing, while the mapping forwards whatever arrives.
    public static func portMapped(host: ICECandidate, externalAddress: String, externalPort: UInt16) -> ICECandidate? {
        guard host.type == .host, host.transport == .udp, !externalAddress.isEmpty, externalPort != 0,
              externalAddress.allSatisfy({ $0.isHexDigit || $0 == "." || $0 == ":" }) else { return nil }
        let priority = (UInt32(portMappedTypePreference) << 24) | (UInt32(UInt16.max) << 8) | 255
        let sdp = "candidate:\(portMappedFoundation) 1 UDP \(priority) \(externalAddress) \(externalPort) typ srflx"
            + " raddr \(host.address) rport \(host.port)"
        return ICECandidate(sdp: sdp, type: .srflx, transport: .udp, address: externalAddress, port: externalPort,
                            baseAddress: host.address, basePort: host.port)
    }

    /// Whether a candidate's SDP is one `portMapped` made (the peer's, received over signaling).
    public static func isPortMapped(sdp: String) -> Bool {
        normalizedCandidateSDP(sdp).hasPrefix("candidate:\(portMappedFoundation) ")
    }

    /// Between libnice's server-reflexive (100) and peer-reflexive (110) type preferences.
    static let portMappedTypePreference: UInt8 = 105
    /// Distinct from libnice's foundations, which are decimal numbers.
    static let portMappedFoundation = "portmap"
}
