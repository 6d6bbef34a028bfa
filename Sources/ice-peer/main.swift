// ice-peer: one ICE agent in one process, driven by lines on stdin, reporting lines on stdout.
// Used by ICETests (two processes in two network namespaces) and bench/ice.sh; not installed.
//
// Options: --role controlling|controlled, --interfaces GLOB,..., --urls URL,..., --username U, --password P,
//          --candidate-types host,..., --network-types udp4,..., --port-range LO-HI
// stdout: cred UFRAG PWD | cand SDP | done | state STATE | pair LTYPE LTRANSPORT LADDR:LPORT RTYPE RTRANSPORT RADDR:RPORT
//         | base ADDR:PORT | recv TEXT | sockets N | sources N (GLib sources beyond those before the agent) | error TEXT
// stdin:  cred UFRAG PWD | cand SDP | done | send TEXT | restart | sockets | sources | close
import Foundation
import ICE
import Session

/// Unbuffered, so the harness sees each line at once.
func emit(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("ice-peer: \(message)\n".utf8))
    exit(2)
}

func sockets() -> Set<String> {
    let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
    return Set(fds.compactMap { try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\($0)") }
        .filter { $0.hasPrefix("socket:") })
}

/// Sockets inherited from the parent (a test runner may leak some) are not the agent's.
let inheritedSockets = sockets()

/// Sockets this process opened.
func openSockets() -> Int {
    sockets().subtracting(inheritedSockets).count
}

let options: [String: String] = {
    var options: [String: String] = [:]
    var arguments = CommandLine.arguments.dropFirst()
    while let key = arguments.popFirst() {
        guard key.hasPrefix("--"), let value = arguments.popFirst() else { fail("usage: ice-peer --option value ...") }
        options[String(key.dropFirst(2))] = value
    }
    return options
}()
func list(_ key: String) -> [String] {
    options[key].map { $0.split(separator: ",").map(String.init) } ?? []
}

let configuration: ICEConfiguration
do {
    var portRange: ClosedRange<UInt16>?
    if let text = options["port-range"] {
        let bounds = text.split(separator: "-").compactMap { UInt16($0) }
        guard bounds.count == 2, bounds[0] <= bounds[1] else { fail("bad --port-range \(text)") }
        portRange = bounds[0]...bounds[1]
    }
    configuration = try ICEConfiguration(
        servers: try list("urls").map(ICEServer.init(url:)), username: options["username"], password: options["password"],
        candidateTypes: Set(try list("candidate-types").map {
            guard let t = CandidateType(rawValue: $0) else { throw ICEError.invalidConfiguration("bad candidate type \($0)") }
            return t
        }).nonEmpty ?? Set(CandidateType.allCases),
        networkTypes: Set(try list("network-types").map {
            guard let t = NetworkType(rawValue: $0) else { throw ICEError.invalidConfiguration("bad network type \($0)") }
            return t
        }).nonEmpty ?? Set(NetworkType.allCases),
        interfaces: list("interfaces"), portRange: portRange)
} catch {
    fail("\(error)")
}

extension Set {
    var nonEmpty: Self? { isEmpty ? nil : self }
}

let role: ICERole = options["role"] == "controlling" ? .controlling : .controlled

let sourcesBefore: Int
let agent: ICEAgent
do {
    let loop = GLibLoop()
    sourcesBefore = try await loop.attachedSourceCount()
    agent = try await ICEAgent(configuration: configuration, role: role, loop: loop)
    let credentials = try await agent.localCredentials()
    emit("cred \(credentials.ufrag) \(credentials.pwd)")
} catch {
    fail("\(error)")
}

let eventTask = Task {
    for await event in agent.events {
        switch event {
        case .localCandidate(let c): emit("cand \(c.sdp)")
        case .gatheringDone: emit("done")
        case .stateChanged(let s): emit("state \(s.rawValue)")
        case .selectedPairChanged(let p):
            emit("pair \(p.local.type) \(p.local.transport.rawValue) \(p.local.address):\(p.local.port) "
                + "\(p.remote.type) \(p.remote.transport.rawValue) \(p.remote.address):\(p.remote.port)")
            emit("base \(p.local.baseAddress):\(p.local.basePort)")
        case .consentLost: emit("state consent-lost")
        case .restarted(let c, _): emit("cred \(c.ufrag) \(c.pwd)")
        }
    }
}
let receiveTask = Task {
    for await datagram in agent.datagrams {
        emit("recv \(String(decoding: datagram, as: UTF8.self))")
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
        case "send": agent.send(Array(argument.utf8))
        case "restart": try await agent.restart()
        case "sockets": emit("sockets \(openSockets())")
        case "sources": emit("sources \(try await agent.loop.attachedSourceCount() - sourcesBefore)")
        case "close":
            await agent.close()
            _ = await eventTask.value
            _ = await receiveTask.value
            emit("sockets \(openSockets())")
            emit("sources \(try await agent.loop.attachedSourceCount() - sourcesBefore)")
            exit(0)
        default: throw ICEError.invalidConfiguration("unknown command \(command)")
        }
    } catch {
        emit("error \(error)")
    }
}
await agent.close()
