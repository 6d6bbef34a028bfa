import Foundation
import Glibc
import Session
import Testing

/// The control socket serves clients side by side: silent clients cannot delay `status`.
@Suite struct ControlSocketTests {
    @Test func statusAnswersWhileTenClientsSayNothing() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("wg-ice-ctl-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).sock").path
        let server = try ControlServer(path: path)
        defer { server.close() }
        server.serve { request in request == "status" ? "ok\n" : "unknown\n" }
        let silent = try (0..<10).map { _ in try connectUnix(path) }
        defer { silent.forEach { close($0) } }
        let start = ContinuousClock.now
        let answer = try controlRequest("status", path: path)
        let took = ContinuousClock.now - start
        #expect(answer == "ok\n")
        #expect(took < .seconds(1), "status took \(took) behind 10 silent clients")
    }

    /// More clients than it serves at once: the ones over the limit are closed, the server keeps answering.
    @Test func clientsOverTheLimitAreClosed() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("wg-ice-ctl-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).sock").path
        let server = try ControlServer(path: path)
        defer { server.close() }
        server.serve { _ in "ok\n" }
        let silent = try (0..<40).map { _ in try connectUnix(path) }
        defer { silent.forEach { close($0) } }
        // A connection over the limit reads end-of-file at once, not after the silent ones' patience (2 s).
        try await Task.sleep(for: .milliseconds(300))
        var closed = 0
        for fd in silent {
            var pollfd = Glibc.pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if poll(&pollfd, 1, 0) == 1 {
                var byte: UInt8 = 0
                if read(fd, &byte, 1) == 0 { closed += 1 }
            }
        }
        #expect(closed == 40 - 16, "\(closed) of 40 closed")
        silent.forEach { shutdown($0, Int32(SHUT_RDWR)) }
        try await Task.sleep(for: .milliseconds(200))
        #expect(try controlRequest("status", path: path) == "ok\n")
    }
}

private func connectUnix(_ path: String) throws -> Int32 {
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
    guard fd >= 0, connected == 0 else { throw POSIXError(.ECONNREFUSED) }
    return fd
}
