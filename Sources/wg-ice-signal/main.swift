import ArgumentParser
import CLISupport
import Foundation
import Logging
import ServiceURLs
import SignalServer

@main
struct WgIceSignal: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wg-ice-signal",
        abstract: "Signaling server for wg-ice: routes end-to-end encrypted envelopes between WireGuard keys.",
        discussion: "Listens on every --listen URL; clients on WebSocket and gRPC reach each other. See wg-ice-signal(8).",
        version: wgIceVersion)

    @Option(name: .long, help: ArgumentHelp("Listener URL: ws://, wss://, grpc:// or grpcs:// HOST:PORT (repeatable; port 0 picks one).", valueName: "url"))
    var listen: [String] = []

    @Option(name: .customLong("tls-cert"), help: ArgumentHelp("PEM certificate chain for wss:// and grpcs://.", valueName: "file"))
    var tlsCert: String?

    @Option(name: .customLong("tls-key"), help: ArgumentHelp("PEM private key for --tls-cert.", valueName: "file"))
    var tlsKey: String?

    @Option(name: .long, help: ArgumentHelp("A host[:port] clients dial this server by (repeatable); when given, auth proofs bound to other names are refused.", valueName: "name"))
    var authority: [String] = []

    @Option(name: .long, help: ArgumentHelp("Another HTTP path the WebSocket endpoint answers on besides /v1/signal, e.g. the one a reverse proxy forwards (repeatable).", valueName: "path"))
    var path: [String] = []

    @Option(name: .customLong("max-message-size"), help: "Largest accepted frame in bytes.")
    var maxMessageSize = 16384

    @Option(name: .customLong("max-connections"), help: "Connections served at once.")
    var maxConnections = 4096

    @Option(name: .customLong("max-connections-per-address"), help: "TCP connections, and sessions, from one address (IPv6: one /64) at once.")
    var maxConnectionsPerAddress = 256

    @Option(name: .customLong("max-unauthenticated-per-address"), help: "Sessions from one address (IPv6: one /64) that have not authenticated yet.")
    var maxUnauthenticatedPerAddress = 32

    @Option(name: .long, help: "Frames per second allowed per connection (WebSocket pings and pongs included).")
    var rate: Double = 50

    @Option(name: .long, help: "Frames a connection may send in a burst.")
    var burst: Double = 100

    @Option(name: .customLong("auth-timeout"), help: "Seconds a new connection has to authenticate.")
    var authTimeout: Double = 10

    @Option(name: .customLong("idle-timeout"), help: "Seconds a connection may stay without a finished request (WebSocket) or an open call (gRPC).")
    var idleTimeout: Double = 10

    @Option(name: .customLong("hold"), help: "Envelopes held per offline recipient.")
    var hold = 32

    @Option(name: .customLong("hold-ttl"), help: "Seconds an envelope is held for an offline recipient.")
    var holdTTL: Double = 30

    @Option(name: .customLong("hold-keys"), help: "Offline recipients with held envelopes, at most.")
    var holdKeys = 10000

    @Option(name: .customLong("hold-bytes"), help: "Bytes of envelopes held for all offline recipients together.")
    var holdBytes = 64 << 20

    @Option(name: .customLong("ice-server"), help: ArgumentHelp("A stun:, turn: or turns: URL handed to authenticated sessions, as wg-ice.conf(5) URLs takes it (repeatable).", valueName: "url"))
    var iceServer: [String] = []

    @Option(name: .customLong("turn-secret-file"), help: ArgumentHelp("coturn's static-auth-secret (use-auth-secret); TURN credentials are minted from it for each session's key. Must not be readable by others.", valueName: "file"))
    var turnSecretFile: String?

    @Option(name: .customLong("turn-ttl"), help: "Seconds the minted TURN credentials are valid; sessions get new ones at three quarters.")
    var turnTTL: Int = Int(ICEServerOffer.defaultTTL.components.seconds)

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel = "info"

    func run() async throws {
        guard let level = Logger.Level(rawValue: logLevel) else { throw ValidationError("--log-level \(logLevel): unknown level") }
        var config = ServerConfig()
        do {
            config.listeners = try listen.map(ServerConfig.Listener.init)
            config.tlsCertificate = tlsCert
            config.tlsKey = tlsKey
            config.authorities = Set(authority.map { $0.lowercased() })  // clients send host names in lower case
            config.webSocketPaths.formUnion(path)
            config.maxMessageSize = maxMessageSize
            config.maxConnections = maxConnections
            config.maxConnectionsPerAddress = maxConnectionsPerAddress
            config.maxUnauthenticatedPerAddress = maxUnauthenticatedPerAddress
            config.rate = rate
            config.burst = burst
            config.authTimeout = .milliseconds(Int64(authTimeout * 1000))
            config.idleTimeout = .milliseconds(Int64(idleTimeout * 1000))
            config.holdPerKey = hold
            config.holdTTL = .milliseconds(Int64(holdTTL * 1000))
            config.holdKeys = holdKeys
            config.holdBytes = holdBytes
            if !iceServer.isEmpty || turnSecretFile != nil {
                let servers = try iceServer.map { text in
                    switch ICEServerURL.parse(text) {
                    case .success(let url) where url.scheme == .stuns: throw ConfigError("--ice-server \(text): STUN over TLS is not supported")
                    case .success(let url): return url
                    case .failure(let error): throw ConfigError("--ice-server \(error.message)")
                    }
                }
                config.iceServers = ICEServerOffer(servers: servers, secret: try turnSecretFile.map(TURNSecret.load(path:)),
                                                   ttl: .seconds(turnTTL))
            }
            try config.validate()
        } catch let error as ConfigError {
            throw ValidationError(error.description)
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "wg-ice-signal")
        logger.info("descriptor limit \(raiseDescriptorLimit())")
        let server = SignalServer(config: config, logger: logger)
        try await server.run { url in
            // Machine-readable: tests and scripts read the actual ports from stdout.
            FileHandle.standardOutput.write(Data("listening \(url)\n".utf8))
        }
    }
}
