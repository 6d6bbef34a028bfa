import Keys
import Foundation
import Retry
import Signaling
import TestSupport

/// A real wg-ice-signal process on free ports, started and stopped by a test.
final class ServerProcess: @unchecked Sendable {
    let process = Process()
    private let lock = NSLock()
    private var stdoutText = ""
    private var stderrText = ""
    let arguments: [String]

    /// Starts the server with `listen` URLs (port 0 = any free port) and waits until all are bound.
    /// `launcher` runs it through another program (e.g. prlimit with its options).
    init(listen: [String], extra: [String] = [], launcher: [String] = []) throws {
        arguments = listen.flatMap { ["--listen", $0] } + extra
        let server = builtProduct("wg-ice-signal")
        process.executableURL = URL(fileURLWithPath: launcher.first ?? server)
        process.arguments = launcher.isEmpty ? arguments : launcher.dropFirst() + [server] + arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        out.fileHandleForReading.readabilityHandler = { [weak self] h in
            let s = String(decoding: h.availableData, as: UTF8.self)
            self?.lock.withLock { self?.stdoutText += s }
        }
        err.fileHandleForReading.readabilityHandler = { [weak self] h in
            let s = String(decoding: h.availableData, as: UTF8.self)
            self?.lock.withLock { self?.stderrText += s }
        }
        try process.run()
        let deadline = Date().addingTimeInterval(20)
        while urls.count < listen.count {
            guard process.isRunning, Date() < deadline else {
                throw Timeout(description: "wg-ice-signal \(arguments) did not start: \(output)\(log)")
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    var output: String { lock.withLock { stdoutText } }
    var log: String { lock.withLock { stderrText } }

    /// The bound listener URLs, e.g. ["ws://127.0.0.1:40000", "grpc://127.0.0.1:40001"].
    var urls: [String] {
        output.split(separator: "\n").compactMap { $0.hasPrefix("listening ") ? String($0.dropFirst(10)) : nil }
    }
    func url(_ scheme: String) -> String { urls.first { $0.hasPrefix(scheme + "://") }! }

    /// SIGTERM and wait; returns the exit status.
    @discardableResult
    func stop(timeout: TimeInterval = 10) -> Int32? {
        guard process.isRunning else { return process.terminationStatus }
        process.terminate()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            reap(process)
            return nil
        }
        return process.terminationStatus
    }

    deinit { stop() }
}

/// A client on top of a real backend: seals with its key, opens and replay-checks what arrives.
final class TestPeer: Sendable {
    let key: PrivateKey
    let channel: SignalingChannel
    final class Seen: Sendable {
        let received = Mutex<[ReceivedMessage]>([])
        let dropped = Mutex<[DropReason]>([])
        let connects = Mutex(0)
    }
    let seen = Seen()
    private let pump: Task<Void, Never>

    init(url: String, key: PrivateKey = .generate(), options: SignalingOptions = fastOptions()) throws {
        self.key = key
        let backend = try makeSignalingBackend(urls: url, key: key, options: options)
        let channel = SignalingChannel(key: key, backend: backend)
        self.channel = channel
        let seen = self.seen
        pump = Task {
            for await event in backend.events {
                switch event {
                case .message(let envelope):
                    switch channel.open(envelope) {
                    case .success(let m): seen.received.withLock { $0.append(m) }
                    case .failure(let r): seen.dropped.withLock { $0.append(r) }
                    }
                case .connected: seen.connects.withLock { $0 += 1 }
                default: break
                }
            }
        }
        backend.start()
    }

    var publicKey: Key { key.publicKey }
    var received: [ReceivedMessage] { seen.received.withLock { $0 } }
    var dropped: [DropReason] { seen.dropped.withLock { $0 } }

    /// Connecting takes milliseconds; the 60 s are for a loaded 2-core machine, where the tests beside this one
    /// (processes, parses) can hold the cooperative pool for seconds while this deadline runs (20 s was missed).
    func waitConnected(times: Int = 1, timeout: TimeInterval = 60) async throws {
        try await waitUntil(timeout: timeout, "\(publicKey) connected \(times)x") { seen.connects.withLock { $0 } >= times }
    }

    func waitReceived(_ count: Int, timeout: TimeInterval = 60) async throws {
        try await waitUntil(timeout: timeout, "\(publicKey) received \(count)") { seen.received.withLock { $0.count } >= count }
    }

    func close() async {
        await channel.backend.close()
        await pump.value
    }
}

func fastOptions() -> SignalingOptions {
    var o = SignalingOptions()
    o.backoff = Backoff(initial: .milliseconds(100), maximum: .seconds(1), jitter: 0.5...1)
    return o
}

struct Timeout: Error, CustomStringConvertible {
    var description: String
}

func waitUntil(timeout: TimeInterval, _ what: String, _ condition: () -> Bool) async throws {
    let deadline = Date().addingTimeInterval(timeout)
    while !condition() {
        guard Date() < deadline else { throw Timeout(description: "timed out waiting for \(what)") }
        try await Task.sleep(for: .milliseconds(20))
    }
}

import Synchronization
typealias Mutex = Synchronization.Mutex

extension PayloadKind {
    static func candidate(_ sdp: String) -> PayloadKind {
        var c = Candidate()
        c.sdp = sdp
        return .candidate(c)
    }
}
