import Foundation
import Synchronization
import Testing
import TestSupport
@testable import ConfParser

/// What every tool reads a configuration from: a regular file of at most 1 MiB. Anything else is refused
/// at once (`file: message`, exit 2), without blocking on a FIFO or reading an endless device.
@Suite struct ConfigFileTests {
    /// A scratch directory with a FIFO nobody writes to, a directory, and files at and past the limit.
    final class Files {
        let dir: URL
        var fifo: String { dir.appendingPathComponent("fifo.conf").path }
        var directory: String { dir.appendingPathComponent("dir.conf").path }
        var atLimit: String { dir.appendingPathComponent("at-limit.conf").path }
        var overLimit: String { dir.appendingPathComponent("over-limit.conf").path }

        init() throws {
            dir = FileManager.default.temporaryDirectory.appendingPathComponent("cf-configfile-\(uniqueSuffix())")
            try FileManager.default.createDirectory(atPath: dir.path + "/dir.conf", withIntermediateDirectories: true)
            guard mkfifo(fifo, 0o600) == 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
            let header = Array("[Interface]\nListenPort = 51820\n".utf8)
            var bytes = header + [UInt8](repeating: UInt8(ascii: "#"), count: ConfParser.maximumFileSize - header.count - 1)
            bytes.append(10)
            try Data(bytes).write(to: URL(fileURLWithPath: atLimit))
            bytes.append(10)
            try Data(bytes).write(to: URL(fileURLWithPath: overLimit))
        }

        deinit { try? FileManager.default.removeItem(at: dir) }
    }

    @Test func aFileOfExactlyTheLimitIsRead() throws {
        let files = try Files()
        let result = try ConfParser.parse(contentsOf: files.atLimit)
        #expect(result.isValid, "\(result.errors)")
        #expect(result.configuration.interface.listenPort == 51820)
    }

    @Test func everythingElseIsRefusedWithWhatItIs() throws {
        let files = try Files()
        let expected = [
            (files.fifo, "\(files.fifo): not a regular file (a FIFO); a configuration is read only from a file"),
            ("/dev/zero", "/dev/zero: not a regular file (a character device); a configuration is read only from a file"),
            (files.directory, "\(files.directory): not a regular file (a directory); a configuration is read only from a file"),
            (files.overLimit, "\(files.overLimit): larger than 1 MiB, the limit for a configuration file"),
            ("/nonexistent/wg0.conf", "/nonexistent/wg0.conf: No such file or directory"),
        ]
        for (path, message) in expected {
            // The FIFO has no writer: a blocking open would never return, so this runs off the test's thread.
            let outcome = readWithin(seconds: 5, path)
            #expect(outcome == message)
        }
    }

    /// Every tool that parses a configuration, through the real binaries: exit 2 with the reason, at once.
    @Test(arguments: ["check", "strip", "up", "resolve"])
    func toolsRefuseAtOnce(tool: String) throws {
        let files = try Files()
        for (path, reason) in [(files.fifo, "a FIFO"), ("/dev/zero", "a character device"), (files.directory, "a directory"),
                               (files.overLimit, "larger than 1 MiB")] {
            let argv = switch tool {
            case "up": [builtProduct("wg-ice-hook"), "up", "cf0", "--config", path]
            case "resolve": [builtProduct("wg-ice-resolve"), "cf0", "--config", path]
            default: [builtProduct("wg-ice-hook"), tool, path]
            }
            // timeout(1) turns a tool that blocks into a failure (status 124) instead of a test that hangs.
            let started = Date()
            let result = try run(["timeout", "10"] + argv)
            #expect(result.status == 2, "\(tool) \(path): exit \(result.status) \(result.stderr)")
            #expect(result.stderr.contains("\(path): ") && result.stderr.contains(reason), "\(tool) \(path): \(result.stderr)")
            #expect(Date().timeIntervalSince(started) < 5, "\(tool) \(path) took \(Date().timeIntervalSince(started)) s")
        }
    }

    /// `ConfParser.parse(contentsOf:)`'s error text, or "blocked" when it did not return within `seconds`.
    private func readWithin(seconds: Int, _ path: String) -> String {
        let outcome = Mutex<String?>(nil)
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            let text: String
            do {
                _ = try ConfParser.parse(contentsOf: path)
                text = "read"
            } catch {
                text = "\(error)"
            }
            outcome.withLock { $0 = text }
            done.signal()
        }
        guard done.wait(timeout: .now() + .seconds(seconds)) == .success else { return "blocked" }
        return outcome.withLock { $0 } ?? "blocked"
    }
}
