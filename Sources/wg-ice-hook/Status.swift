import ArgumentParser
import Foundation
import Session

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show running sessions: per peer ICE state, selected pair, data path, endpoint, handshake, restarts."
    )

    @Argument(help: "Only this interface (default: every running session).")
    var interface: String?

    @Flag(help: "Print JSON: one object for an interface, an array without one.")
    var json = false

    func run() throws {
        if let interface, !isValidInterfaceName(interface) {
            printError("\(interface): not a valid interface name")
            throw ExitCode(2)
        }
        let names = interface.map { [$0] } ?? RuntimeFiles.interfaces()
        var sessions: [InterfaceStatus] = []
        for name in names {
            // Files a session left behind (it cannot remove them once it runs as User) are no session.
            if runningSession(name) == nil {
                removeStaleFiles(name)
                if interface == nil { continue }
                printError("\(name): no running session")
                throw ExitCode(1)
            }
            do {
                let text = try controlRequest("status", path: RuntimeFiles.socket(name))
                sessions.append(try JSONDecoder().decode(InterfaceStatus.self, from: Data(text.utf8)))
            } catch {
                printError("\(name): no running session (\(error))")
                if interface != nil { throw ExitCode(1) }
            }
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            let data = interface != nil ? try encoder.encode(sessions[0]) : try encoder.encode(sessions)
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(sessions.map(describe).joined(separator: "\n"), terminator: "")
        }
    }

    private func describe(_ s: InterfaceStatus) -> String {
        var text = "interface: \(s.interface)\n  public key: \(s.publicKey)\n  listening port: \(s.listenPort)\n"
        for (server, up) in s.signaling.sorted(by: { $0.key < $1.key }) {
            text += "  signaling: \(server) (\(up ? "connected" : "disconnected"))\n"
        }
        let now = Int64(Date().timeIntervalSince1970)
        if let servers = s.iceServers {
            text += "  ICE servers: \(servers)\n"
            if let expires = s.turnCredentialsExpire { text += "  TURN credentials expire: in \(expires - now) s\n" }
        }
        for peer in s.peers {
            text += "\npeer: \(peer.publicKey)\n  ice: \(peer.iceState)\n"
            if let error = peer.error { text += "  error: \(error)\n" }
            if let pair = peer.selectedPair {
                text += "  selected pair: \(pair.localType) \(pair.local) → \(pair.remoteType) \(pair.remote) (\(pair.transport))\n"
            }
            if let path = peer.dataPath { text += "  data path: \(path)\n" }
            if let m = peer.portMapping {
                let lease = m.leaseLeft.map { "lease \($0) s left" } ?? "permanent lease"
                text += "  port mapping: \(m.method) \(m.external) → port \(m.internalPort) (\(lease))\n"
            }
            if let endpoint = peer.endpoint { text += "  endpoint: \(endpoint)\n" }
            if let at = peer.lastHandshake { text += "  latest handshake: \(now - at) seconds ago\n" }
            text += "  restarts: \(peer.restarts)\n"
        }
        return text
    }
}
