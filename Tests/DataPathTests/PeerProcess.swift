import Foundation
import TestSupport

// Adapted from ICETests' PeerProcess, for the `datapath-peer` tool.

/// Lines a `datapath-peer` process printed, for assertions.
actor LineLog {
    private(set) var lines: [String] = []
    func append(_ line: String) { lines.append(line) }
    func last(_ prefix: String) -> String? { lines.last { $0.hasPrefix(prefix) } }
    func all(_ prefix: String) -> [String] { lines.filter { $0.hasPrefix(prefix) } }
}

struct Timeout: Error, CustomStringConvertible {
    var description: String
}

/// Polls `condition` until it holds or `seconds` pass.
func waitUntil(_ what: String, seconds: Double = 15, _ condition: () async throws -> Bool) async throws {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    throw Timeout(description: "timed out after \(seconds) s waiting for \(what)")
}

/// One `datapath-peer` process inside a network namespace.
final class PeerProcess: Sendable {
    let name: String
    let log = LineLog()
    private let process: Process
    private let input: FileHandle
    let lines: AsyncStream<String>

    init(_ name: String, namespace: String, arguments: [String]) throws {
        signal(SIGPIPE, SIG_IGN)
        self.name = name
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["ip", "netns", "exec", namespace, builtProduct("datapath-peer")] + arguments
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

    /// Waits until the peer prints a line with `prefix` after `after` such lines, and returns it.
    @discardableResult
    func waitFor(_ prefix: String, count: Int = 1, seconds: Double = 15) async throws -> String {
        try await waitUntil("\(name) to print '\(prefix)' (\(count))", seconds: seconds) {
            await log.all(prefix).count >= count
        }
        return await log.all(prefix)[count - 1]
    }

    func terminate() {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }
}
