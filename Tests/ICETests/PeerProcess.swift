import Foundation
import TestSupport

/// Lines an `ice-peer` process printed, for assertions.
actor LineLog {
    private(set) var lines: [String] = []
    func append(_ line: String) { lines.append(line) }
    func first(_ prefix: String) -> String? { lines.first { $0.hasPrefix(prefix) } }
    func all(_ prefix: String) -> [String] { lines.filter { $0.hasPrefix(prefix) } }
}

/// One `ice-peer` process (one ICE agent), optionally inside a network namespace.
final class PeerProcess: Sendable {
    let name: String
    let log = LineLog()
    private let process: Process
    private let input: FileHandle
    let lines: AsyncStream<String>

    init(_ name: String, namespace: String?, arguments: [String]) throws {
        // A peer that exited must not take the test process down when a line is forwarded to it.
        signal(SIGPIPE, SIG_IGN)
        self.name = name
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        let peer = builtProduct("ice-peer")
        process.arguments = (namespace.map { ["ip", "netns", "exec", $0] } ?? []) + [peer] + arguments
        let inPipe = Pipe(), outPipe = Pipe()
        process.standardInput = inPipe
        process.standardOutput = outPipe
        try process.run()
        self.process = process
        input = inPipe.fileHandleForWriting
        let output = outPipe.fileHandleForReading
        let (lines, sink) = AsyncStream.makeStream(of: String.self)
        self.lines = lines
        Thread.detachNewThread {
            var pending = Data()
            while case let chunk = output.availableData, !chunk.isEmpty {
                pending.append(chunk)
                while let newline = pending.firstIndex(of: 0x0a) {
                    sink.yield(String(decoding: pending[pending.startIndex..<newline], as: UTF8.self))
                    pending.removeSubrange(pending.startIndex...newline)
                }
            }
            sink.finish()
        }
    }

    func send(_ line: String) {
        try? input.write(contentsOf: Data((line + "\n").utf8))
    }

    /// Records this peer's lines and forwards its signaling lines to `other`.
    func relay(to other: PeerProcess) -> Task<Void, Never> {
        Task {
            for await line in lines {
                await log.append(line)
                if ["cred", "cand", "done"].contains(line.split(separator: " ").first ?? "") { other.send(line) }
            }
        }
    }

    func waitFor(_ prefix: String, seconds: Double = 15) async throws -> String {
        var found: String?
        try await waitUntil("\(name) to print '\(prefix)'", seconds: seconds) {
            found = await log.first(prefix)
            return found != nil
        }
        return found!
    }

    func terminate() {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }
}

/// Two peers wired to each other; both are killed when `body` ends.
func withPeerProcesses(_ a: PeerProcess, _ b: PeerProcess,
                       _ body: () async throws -> Void) async throws {
    let tasks = [a.relay(to: b), b.relay(to: a)]
    defer {
        a.terminate()
        b.terminate()
    }
    do {
        try await body()
    } catch {
        var report = "\(error)"
        for peer in [a, b] { report += "\n\(peer.name) printed:\n" + (await peer.log.lines).joined(separator: "\n") }
        throw Timeout(description: report)
    }
    a.terminate()
    b.terminate()
    for t in tasks { await t.value }
}

/// Sends text both ways and waits for it to arrive.
func exchangeData(_ a: PeerProcess, _ b: PeerProcess) async throws {
    _ = try await a.waitFor("pair ")
    _ = try await b.waitFor("pair ")
    a.send("send from-\(a.name)")
    b.send("send from-\(b.name)")
    _ = try await b.waitFor("recv from-\(a.name)", seconds: 5)
    _ = try await a.waitFor("recv from-\(b.name)", seconds: 5)
}
