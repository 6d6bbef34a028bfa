// datapath-peer: one ICE agent and the data path for one WireGuard peer, in one process (so in one network
// namespace), driven by lines like ice-peer. Used by DataPathTests; not installed.
//
// Options: --role controlling|controlled, --interfaces GLOB,..., --network-types udp4,..., --urls URL,...,
//          --username U, --password P, --candidate-types host,..., --wg IFACE,
//          --peer PUBLIC_KEY (base64), --proxy auto|nftables|userspace
// stdout: cred UFRAG PWD | cand SDP | done | pair LTYPE LTRANSPORT RTYPE RTRANSPORT
//         | path KIND ENDPOINT | stray N | closed | error TEXT
// stdin:  cred UFRAG PWD | cand SDP | done | proxy MODE (select again with another Proxy setting)
//         | stray (non-STUN datagrams the agent received while the kernel redirected) | close
import DataPath
import Foundation
import ICE
import Synchronization
import WireGuard
import enum ConfParser.ProxyMode

func emit(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("datapath-peer: \(message)\n".utf8))
    exit(2)
}

let options: [String: String] = {
    var options: [String: String] = [:]
    var arguments = CommandLine.arguments.dropFirst()
    while let key = arguments.popFirst() {
        guard key.hasPrefix("--"), let value = arguments.popFirst() else { fail("usage: datapath-peer --option value ...") }
        options[String(key.dropFirst(2))] = value
    }
    return options
}()
func list(_ key: String) -> [String] {
    options[key].map { $0.split(separator: ",").map(String.init) } ?? []
}

guard let interface = options["wg"], let peer = options["peer"].flatMap({ Key(base64: $0) }) else {
    fail("--wg IFACE and --peer PUBLIC_KEY are required")
}
let wireGuard: any WireGuardControl
let wireGuardPort: UInt16
let agent: ICEAgent
do {
    wireGuard = try WireGuard.open(interface)
    wireGuardPort = try wireGuard.device().listenPort
    let configuration = try ICEConfiguration(
        urls: list("urls"), username: options["username"], password: options["password"],
        candidateTypes: Set(list("candidate-types").compactMap(CandidateType.init(rawValue:))).nonEmpty
            ?? Set(CandidateType.allCases),
        networkTypes: Set(list("network-types").compactMap(NetworkType.init(rawValue:))).nonEmpty ?? Set(NetworkType.allCases),
        interfaces: list("interfaces"))
    agent = try await ICEAgent(configuration: configuration,
                               role: options["role"] == "controlling" ? .controlling : .controlled)
    let credentials = try await agent.localCredentials()
    emit("cred \(credentials.ufrag) \(credentials.pwd)")
} catch {
    fail("\(error)")
}

extension Set {
    var nonEmpty: Self? { isEmpty ? nil : self }
}

let table = NFTablesTable(interface: interface)

/// The current path, replaced make-before-break: the new one is installed and WireGuard pointed at it before
/// the old one is removed.
actor Paths {
    let agent: ICEAgent, wireGuard: any WireGuardControl, wireGuardPort: UInt16, peer: Key, table: NFTablesTable
    let strays: Atomic<Int>
    var current: (any DataPath)?
    var mode: ProxyMode

    init(agent: ICEAgent, wireGuard: any WireGuardControl, wireGuardPort: UInt16, peer: Key, table: NFTablesTable,
         mode: ProxyMode) {
        (self.agent, self.wireGuard, self.wireGuardPort, self.peer, self.table, self.mode) =
            (agent, wireGuard, wireGuardPort, peer, table, mode)
        strays = Atomic(0)
    }

    func select(_ pair: SelectedPair?, mode newMode: ProxyMode? = nil) async {
        if let newMode { mode = newMode }
        guard let pair else { return }
        do {
            let kind = try DataPathKind.select(pair: pair, proxy: mode, nftablesAvailable: NFTablesTable.isAvailable())
            if kind == .userspaceProxy, current is UserspaceProxy { return }  // it follows the agent's pair
            let path: any DataPath = switch kind {
            case .kernelRedirect: try KernelRedirect(pair: pair, wireGuardPort: wireGuardPort, peer: peer, table: table)
            case .userspaceProxy: try UserspaceProxy(agent: agent, wireGuardPort: wireGuardPort)
            }
            try wireGuard.apply(.endpoint(path.wireGuardEndpoint, for: peer))
            await current?.close()
            if kind == .kernelRedirect {
                // Non-STUN datagrams that reach the agent while the kernel redirects: must stay 0.
                agent.setReceiveHandler { [self] _ in strays.add(1, ordering: .relaxed) }
            }
            current = path
            emit("path \(kind.rawValue) \(path.wireGuardEndpoint)")
        } catch {
            emit("error \(error)")
        }
    }

    func close() async {
        await current?.close()
        current = nil
        do { try table.delete() } catch { emit("error \(error)") }
    }
}
let paths = Paths(agent: agent, wireGuard: wireGuard, wireGuardPort: wireGuardPort, peer: peer, table: table,
                  mode: ProxyMode(rawValue: options["proxy"] ?? "auto") ?? .auto)

let eventTask = Task {
    for await event in agent.events {
        switch event {
        case .localCandidate(let c): emit("cand \(c.sdp)")
        case .gatheringDone: emit("done")
        case .selectedPairChanged(let p):
            emit("pair \(p.local.type) \(p.local.transport.rawValue) \(p.remote.type) \(p.remote.transport.rawValue)")
            await paths.select(p)
        default: break
        }
    }
}

let (lines, lineSink) = AsyncStream.makeStream(of: String.self)
Thread.detachNewThread {
    while let line = readLine() { lineSink.yield(line) }
    lineSink.finish()
}

for await line in lines {
    let (command, argument) = line.firstIndex(of: " ").map { (String(line[..<$0]), String(line[line.index(after: $0)...])) }
        ?? (line, "")
    do {
        switch command {
        case "cred":
            let parts = argument.split(separator: " ")
            guard parts.count == 2 else { throw ICEError.invalidCredentials("cred needs UFRAG PWD") }
            try await agent.setRemoteCredentials(ICECredentials(ufrag: String(parts[0]), pwd: String(parts[1])))
        case "cand": try await agent.addRemoteCandidate(argument)
        case "done": try await agent.remoteGatheringDone()
        case "proxy":
            guard let mode = ProxyMode(rawValue: argument) else { throw ICEError.invalidConfiguration("bad mode \(argument)") }
            await paths.select(agent.selectedPair, mode: mode)
        case "stray": emit("stray \(paths.strays.load(ordering: .relaxed))")
        case "close":
            await paths.close()
            await agent.close()
            emit("closed")
            exit(0)
        default: emit("error unknown command \(command)")
        }
    } catch {
        emit("error \(error)")
    }
}
await paths.close()
await agent.close()
eventTask.cancel()
