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
import Keys
import DataPath
import Foundation
import ICE
import Session
import Logging
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
        servers: try list("urls").map(ICEServer.init(url:)), username: options["username"], password: options["password"],
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

let strays = Atomic<Int>(0)
/// The shipped path switch; `proxy MODE` applies another Proxy setting to the current pair.
let nftablesAvailable = NFTablesTable.isAvailable()
let paths = PathSwitch(agent: agent, peer: peer, wireGuardPort: wireGuardPort, table: table,
                       select: (ProxyMode(rawValue: options["proxy"] ?? "auto") ?? .auto).selection(nftablesAvailable: nftablesAvailable),
                       logger: Logger(label: "datapath-peer")) { endpoint in
    try wireGuard.apply(.endpoint(endpoint, for: peer))
}

func report(_ change: @Sendable () async throws -> Void) async {
    do {
        try await change()
        guard let current = await paths.current else { return }
        if current.kind == .kernelRedirect {
            // Non-STUN datagrams that reach the agent while the kernel redirects: must stay 0.
            agent.setReceiveHandler { _ in strays.add(1, ordering: .relaxed) }
        }
        emit("path \(current.kind.rawValue) \(current.wireGuardEndpoint)")
    } catch {
        emit("error \(error)")
    }
}

let eventTask = Task {
    for await event in agent.events {
        switch event {
        case .localCandidate(let c): emit("cand \(c.sdp)")
        case .gatheringDone: emit("done")
        case .selectedPairChanged(let p):
            emit("pair \(p.local.type) \(p.local.transport.rawValue) \(p.remote.type) \(p.remote.transport.rawValue)")
            await report { try await paths.use(p) }
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
            await report { try await paths.setSelection(mode.selection(nftablesAvailable: nftablesAvailable)) }
        case "stray": emit("stray \(strays.load(ordering: .relaxed))")
        case "close":
            await paths.close()
            try? table.delete()
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
try? table.delete()
await agent.close()
eventTask.cancel()
