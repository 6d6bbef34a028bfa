import ICE
import Logging
import Signaling
import TURNTLS

/// The session's TLS relays, one per `turns:` server, living as long as the session; its agents get the
/// configuration in which each such server is its relay (libnice would speak plain TCP to the server itself).
struct TURNRelays: Sendable {
    private let relays: [TLSRelay]

    /// Starts a relay for each `turns:` server of `ice`, trusting what the signaling client trusts
    /// (`SSL_CERT_FILE`, else the system store). Returns them with the configuration agents must get.
    static func start(for ice: ICEConfiguration, logger: Logger) async throws -> (TURNRelays, ICEConfiguration) {
        guard ice.candidateTypes.contains(.relay) else { return (TURNRelays(relays: []), ice) }
        let caFile = SignalingOptions().caFile
        var relays: [TLSRelay] = [], ports: [ICEServer: UInt16] = [:]
        for server in ice.tlsServers where ports[server] == nil {
            do {
                let relay = try await TLSRelay.start(host: server.host, port: server.port, caFile: caFile, logger: logger)
                relays.append(relay)
                ports[server] = relay.port
            } catch {
                for relay in relays { await relay.close() }
                throw SessionError.configuration("turns:\(server.host):\(server.port): cannot set up TLS "
                    + "(trusting \(caFile.map { "SSL_CERT_FILE \($0)" } ?? "the system trust store")): \(error)")
            }
        }
        return (TURNRelays(relays: relays), ice.relayingTLS(through: ports))
    }

    func close() async {
        for relay in relays { await relay.close() }
    }
}
