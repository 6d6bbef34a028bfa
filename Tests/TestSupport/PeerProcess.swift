import Foundation

/// Lines a peer process printed, for assertions.
public actor LineLog {
    public private(set) var lines: [String] = []
    public init() {}
    public func append(_ line: String) { lines.append(line) }
    public func first(_ prefix: String) -> String? { lines.first { $0.hasPrefix(prefix) } }
    public func all(_ prefix: String) -> [String] { lines.filter { $0.hasPrefix(prefix) } }
}

public struct Timeout: Error, CustomStringConvertible {
    public var description: String
    public init(description: String) { self.description = description }
}

/// Polls `condition` until it holds or `seconds` pass.
public func waitUntil(_ what: String, seconds: Double = 10, _ condition: () async throws -> Bool) async throws {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(10))
    }
    throw Timeout(description: "timed out after \(seconds) s waiting for \(what)")
}

/// One line-driven test tool process (`ice-peer`, `datapath-peer`: one ICE agent each), optionally inside a
/// network namespace. Lines starting with cred/cand/done are its signaling, relayed to the other peer.
public final class PeerProcess: Sendable {
    public let name: String
    public let log = LineLog()
    private let process: Process
    private let input: FileHandle
    private let lines: AsyncStream<String>

    public init(_ name: String, executable: String = "ice-peer", namespace: String?, arguments: [String]) throws {
        // A peer that exited must not take the test process down when a line is forwarded to it.
        signal(SIGPIPE, SIG_IGN)
        self.name = name
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = (namespace.map { ["ip", "netns", "exec", $0] } ?? []) + [builtProduct(executable)] + arguments
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

    public func send(_ line: String) {
        try? input.write(contentsOf: Data((line + "\n").utf8))
    }

    /// Records this peer's lines and forwards its signaling lines to `other`.
    public func relay(to other: PeerProcess) -> Task<Void, Never> {
        Task {
            for await line in lines {
                await log.append(line)
                if ["cred", "cand", "done"].contains(line.split(separator: " ").first ?? "") { other.send(line) }
            }
        }
    }

    /// Records this process's lines (for `waitFor`) without relaying them anywhere.
    public func record() -> Task<Void, Never> {
        Task { for await line in lines { await log.append(line) } }
    }

    /// Waits until the peer has printed `count` lines starting with `prefix`, and returns the last of them.
    @discardableResult
    public func waitFor(_ prefix: String, count: Int = 1, seconds: Double = 15) async throws -> String {
        try await waitUntil("\(name) to print '\(prefix)'", seconds: seconds) { await log.all(prefix).count >= count }
        return await log.all(prefix)[count - 1]
    }

    public func terminate() {
        if process.isRunning { process.terminate() }
        reap(process)
    }
}

/// Two peers wired to each other; both are killed when `body` ends. A failure reports what both printed.
public func withPeerProcesses(_ a: PeerProcess, _ b: PeerProcess,
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
