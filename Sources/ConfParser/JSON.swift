import Addresses
/// JSON form of a configuration (`wg-ice-hook check --json`). Secrets — the private key, preshared
/// keys and the TURN password — are always written as "(redacted)", so no caller can leak them by
/// encoding a Configuration.
extension Configuration: Encodable {
    static let redacted = "(redacted)"

    private enum Keys: String, CodingKey { case interface, peers, ice, hasICESettings }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(interface, forKey: .interface)
        try c.encode(peers, forKey: .peers)
        try c.encode(ice, forKey: .ice)
        try c.encode(hasICESettings, forKey: .hasICESettings)
    }
}

extension InterfaceSection: Encodable {
    private enum Keys: String, CodingKey {
        case privateKey, listenPort, fwMark, addresses, dnsServers, dnsSearch, mtu, table
        case preUp, postUp, preDown, postDown, saveConfig
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encodeIfPresent(privateKey.map { _ in Configuration.redacted }, forKey: .privateKey)
        try c.encodeIfPresent(listenPort, forKey: .listenPort)
        try c.encodeIfPresent(fwMark, forKey: .fwMark)
        try c.encode(addresses.map(\.description), forKey: .addresses)
        try c.encode(dnsServers.map(\.description), forKey: .dnsServers)
        try c.encode(dnsSearch, forKey: .dnsSearch)
        try c.encodeIfPresent(mtu, forKey: .mtu)
        try c.encode(table.description, forKey: .table)
        try c.encode(preUp, forKey: .preUp)
        try c.encode(postUp, forKey: .postUp)
        try c.encode(preDown, forKey: .preDown)
        try c.encode(postDown, forKey: .postDown)
        try c.encode(saveConfig, forKey: .saveConfig)
    }
}

extension PeerSection: Encodable {
    private enum Keys: String, CodingKey { case publicKey, presharedKey, allowedIPs, endpoint, persistentKeepalive, line }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(publicKey.base64, forKey: .publicKey)
        try c.encodeIfPresent(presharedKey.map { _ in Configuration.redacted }, forKey: .presharedKey)
        try c.encode(allowedIPs.map(\.description), forKey: .allowedIPs)
        try c.encodeIfPresent(endpoint?.description, forKey: .endpoint)
        try c.encode(persistentKeepalive, forKey: .persistentKeepalive)
        try c.encode(line, forKey: .line)
    }
}

extension ICESettings: Encodable {
    private enum Keys: String, CodingKey {
        case signaling, urls, username, password, candidateTypes, networkTypes, interfaces, portRange, peers, proxy, portMapping
        case checkInterval, failedTimeout, handshakeTimeout, user, logLevel
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(signaling.map(\.description), forKey: .signaling)
        try c.encode(servers.map(\.description), forKey: .urls)
        try c.encodeIfPresent(username, forKey: .username)
        try c.encodeIfPresent(password.map { _ in Configuration.redacted }, forKey: .password)
        try c.encode(CandidateType.allCases.filter(candidateTypes.contains), forKey: .candidateTypes)
        try c.encode(NetworkType.allCases.filter(networkTypes.contains), forKey: .networkTypes)
        try c.encode(interfaces.map(\.description), forKey: .interfaces)
        try c.encodeIfPresent(portRange?.description, forKey: .portRange)
        switch peers {
        case .auto: try c.encode("auto", forKey: .peers)
        case .all: try c.encode("all", forKey: .peers)
        case .keys(let keys): try c.encode(keys.map(\.base64), forKey: .peers)
        }
        try c.encode(proxy, forKey: .proxy)
        if portMapping.isEmpty {
            try c.encode("off", forKey: .portMapping)
        } else {
            try c.encode(MappingProtocol.allCases.filter(portMapping.contains), forKey: .portMapping)
        }
        try c.encode(formatDuration(checkInterval), forKey: .checkInterval)
        try c.encode(formatDuration(failedTimeout), forKey: .failedTimeout)
        try c.encode(formatDuration(handshakeTimeout), forKey: .handshakeTimeout)
        try c.encodeIfPresent(user, forKey: .user)
        try c.encode(logLevel, forKey: .logLevel)
    }
}
