import Keys
import ArgumentParser
import CLISupport
import ConfParser
import Foundation
import Logging
import Session
import WireGuard

@main
struct WgIceResolve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wg-ice-resolve",
        abstract: "Run ICE once for the peers of a WireGuard interface and print the selected pairs.",
        discussion: """
            Keys and peers come from the running interface, ICE settings from its configuration file; the peers' \
            side runs a normal wg-ice-hook session. With --apply, direct results become WireGuard endpoints with \
            the kernel redirection that keeps them working after this process exits.
            Exit status: 0 every peer resolved, 1 some did not before the timeout, 2 usage or configuration \
            error (nothing changed), 3 --apply and a result needs the userspace proxy (relayed or TCP), \
            which cannot outlive the process: it is reported, not applied.
            """,
        version: wgIceVersion
    )

    @Argument(help: "The WireGuard interface, e.g. wg0.")
    var interface: String

    @Argument(help: ArgumentHelp("Peers to resolve (default: those the configuration's Peers setting selects).",
                                 valueName: "peer-pubkey"))
    var peers: [String] = []

    @Option(help: "The configuration file (default /etc/wireguard/IFACE.conf).")
    var config: String?

    @Option(help: "How long to wait for ICE, e.g. 10s, 1m30s, 500ms.")
    var timeout = "10s"

    @Flag(help: "Print JSON instead of one line per peer.")
    var json = false

    @Flag(help: "Set WireGuard endpoints and install the kernel redirection for direct results.")
    var apply = false

    @Flag(name: .shortAndLong, help: "Log ICE and signaling progress to stderr.")
    var verbose = false

    /// swift-argument-parser exits 64 on a usage error; wg-ice-resolve promises 2 like wg-ice-hook.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var command = command as? AsyncParsableCommand { try await command.run() } else { try command.run() }
        } catch {
            guard exitCode(for: error) == .validationFailure else { exit(withError: error) }
            printError(fullMessage(for: error))
            Foundation.exit(2)
        }
    }

    func run() async throws {
        let request = try validate()
        bootstrapLogging(level: verbose ? .info : .warning)
        let logger = Logger(label: "wg-ice-resolve")
        if (try? controlRequest("status", path: RuntimeFiles.socket(interface))) != nil {
            throw usageError("\(interface): a wg-ice-hook session is running; it resolves these peers already (wg-ice-hook status)")
        }
        let resolver: Resolver
        do {
            resolver = try await Resolver(interface: interface, settings: request.settings, requested: request.peers,
                                          logger: logger)
        } catch {
            throw usageError(interfaceMessage(error, about: interface))
        }
        let pairs = await resolver.pairs(timeout: request.timeout)
        if resolver.peers.contains(where: { pairs[$0] == nil }) {
            let status = await resolver.status()
            for peer in resolver.peers where pairs[peer] == nil {
                let reason = noPairReason(status.peers.first { $0.publicKey == peer.base64 }, signaling: status.signaling)
                printError("\(peer.base64): no pair within \(timeout): \(reason)")
            }
        }
        var results: [PeerResult] = []
        for peer in resolver.peers {
            var result = PeerResult(peer: peer, pair: pairs[peer])
            if apply, let pair = result.pair {
                do {
                    result.outcome = try await resolver.apply(pair, for: peer, logger: logger) == nil ? .notApplied : .applied
                } catch {
                    printError("\(peer.base64): cannot apply: \(error)")
                    result.outcome = .failed
                }
            }
            results.append(result)
        }
        await resolver.finish(applied: Set(results.filter { $0.outcome == .applied }.map(\.peer)))
        print(json ? try jsonReport(interface: interface, results) : results.map(\.line).joined(separator: "\n"))
        if results.contains(where: { $0.outcome == .failed }) { throw ExitCode(1) }
        if results.contains(where: { $0.outcome == .notApplied }) { throw ExitCode(3) }
    }

    private struct Request {
        var settings: SessionSettings
        var peers: [Key]
        var timeout: Duration
    }

    /// Everything that can be refused before anything starts: exit 2, with `file:line:` for the configuration.
    private func validate() throws -> Request {
        guard isValidInterfaceName(interface) else { throw usageError("\(interface): not a valid interface name") }
        guard let timeout = parseDuration(self.timeout) else {
            throw usageError("--timeout \(self.timeout): not a duration like 10s, 1m30s or 500ms")
        }
        var keys: [Key] = []
        for text in peers {
            guard let key = Key(base64: text) else { throw usageError("\(text): not a WireGuard public key") }
            keys.append(key)
        }
        let path = config ?? "/etc/wireguard/\(interface).conf"
        let parsed: ParseResult
        do {
            parsed = try ConfParser.parse(contentsOf: path)
        } catch {
            throw usageError("\(error)")
        }
        printErrors(parsed.diagnostics.map(\.description))
        guard parsed.isValid else { throw ExitCode(2) }
        guard parsed.configuration.hasICESettings else {
            throw usageError("\(path): no [ICE] section or #[ICE] block: nothing to resolve with")
        }
        do {
            return Request(settings: try SessionSettings(parsed.configuration, interface: interface), peers: keys,
                           timeout: timeout)
        } catch {
            throw usageError("\(path): \(error)")
        }
    }
}

func usageError(_ message: String) -> ExitCode {
    printError(message)
    return ExitCode(2)
}

func printError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}
