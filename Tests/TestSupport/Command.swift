import Foundation

/// The outcome of running an external program to completion.
public struct CommandResult: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
    public var succeeded: Bool { status == 0 }
}

public struct CommandError: Error, CustomStringConvertible {
    public var argv: [String]
    public var result: CommandResult
    public var description: String {
        "\(argv.joined(separator: " ")) exited \(result.status): \(result.stderr)\(result.stdout)"
    }
}

/// Runs `argv` (looked up in PATH), feeding `input` on stdin, and collects its output.
///
/// Built on posix_spawn, poll and waitpid rather than Foundation.Process: under parallel Swift
/// Testing on a 2-core machine, Process.waitUntilExit can wait forever for a child that has already
/// exited (its reaping runs on Dispatch workers that blocked tests occupy). The pipes are
/// close-on-exec, so a daemon spawned by one test (wireguard-go) cannot inherit another test's pipe
/// and keep it open.
@discardableResult
public func run(_ argv: [String], input: String? = nil, environment: [String: String] = [:]) throws -> CommandResult {
    var env = ProcessInfo.processInfo.environment
    env["PATH"] = (env["PATH"] ?? "") + ":/usr/sbin:/sbin:/usr/local/sbin"
    for (key, value) in environment { env[key] = value }

    var stdinPipe: [Int32] = [0, 0], stdoutPipe: [Int32] = [0, 0], stderrPipe: [Int32] = [0, 0]
    for i in 0..<3 {
        // pipe2 is hidden behind _GNU_SOURCE; the window before FD_CLOEXEC is a few instructions.
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        switch i {
        case 0: stdinPipe = fds
        case 1: stdoutPipe = fds
        default: stderrPipe = fds
        }
    }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    // dup2 onto 0/1/2 clears close-on-exec for the child's copies only.
    posix_spawn_file_actions_adddup2(&actions, stdinPipe[0], 0)
    posix_spawn_file_actions_adddup2(&actions, stdoutPipe[1], 1)
    posix_spawn_file_actions_adddup2(&actions, stderrPipe[1], 2)

    // Children start with an empty signal mask and default dispositions: the spawning thread may be a
    // Dispatch worker, which blocks signals, and daemons started by a test would inherit that for life.
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var noSignals = sigset_t(), allSignals = sigset_t()
    sigemptyset(&noSignals)
    sigfillset(&allSignals)
    posix_spawnattr_setsigmask(&attributes, &noSignals)
    posix_spawnattr_setsigdefault(&attributes, &allSignals)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

    let cArgs = (["/usr/bin/env"] + argv).map { strdup($0) } + [nil]
    let cEnv = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer { (cArgs + cEnv).forEach { free($0) } }
    var pid: pid_t = 0
    let spawned = posix_spawn(&pid, "/usr/bin/env", &actions, &attributes, cArgs, cEnv)
    close(stdinPipe[0]); close(stdoutPipe[1]); close(stderrPipe[1])
    guard spawned == 0 else {
        close(stdinPipe[1]); close(stdoutPipe[0]); close(stderrPipe[0])
        throw POSIXError(.init(rawValue: spawned) ?? .EIO)
    }

    // Feed stdin from its own thread so a child that writes before reading cannot deadlock us.
    let inputBytes = Array((input ?? "").utf8)
    let inputFD = stdinPipe[1]
    let fed = DispatchSemaphore(value: 0)
    Thread {
        var offset = 0
        while offset < inputBytes.count {
            let n = inputBytes[offset...].withUnsafeBytes { write(inputFD, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            offset += n
        }
        close(inputFD)
        fed.signal()
    }.start()

    // Drain stdout and stderr together so a chatty child cannot block on a full pipe.
    var out: [UInt8] = [], err: [UInt8] = []
    var fds = [pollfd(fd: stdoutPipe[0], events: Int16(POLLIN), revents: 0),
               pollfd(fd: stderrPipe[0], events: Int16(POLLIN), revents: 0)]
    var buffer = [UInt8](repeating: 0, count: 65536)
    while fds.contains(where: { $0.fd >= 0 }) {
        if poll(&fds, nfds_t(fds.count), -1) < 0 {
            if errno == EINTR { continue }
            break
        }
        for i in fds.indices where fds[i].fd >= 0 && fds[i].revents != 0 {
            let n = read(fds[i].fd, &buffer, buffer.count)
            if n > 0 {
                if i == 0 { out += buffer[0..<n] } else { err += buffer[0..<n] }
            } else if n == 0 || errno != EINTR {
                close(fds[i].fd)
                fds[i].fd = -1
            }
        }
    }
    fed.wait()
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    // WIFEXITED/WEXITSTATUS are macros Swift cannot call.
    let exitStatus = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    return CommandResult(status: exitStatus,
                         stdout: String(decoding: out, as: UTF8.self),
                         stderr: String(decoding: err, as: UTF8.self))
}

/// Like `run`, but throws unless the program exits 0.
@discardableResult
public func runChecked(_ argv: [String], input: String? = nil, environment: [String: String] = [:]) throws -> CommandResult {
    let result = try run(argv, input: input, environment: environment)
    guard result.succeeded else { throw CommandError(argv: argv, result: result) }
    return result
}

/// A short random suffix for lab object names (interface names are limited to 15 bytes).
public func uniqueSuffix() -> String {
    String(UInt32.random(in: 0..<UInt32.max), radix: 36)
}

/// The repository's root, for tests that need files under Tests/ or the built binaries.
public let packageRoot: URL = {
    var url = URL(fileURLWithPath: #filePath)
    while url.path != "/" {
        url.deleteLastPathComponent()
        if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
    }
    fatalError("Package.swift not found above \(#filePath)")
}()

/// Path of a product built by the same `swift build` that built the tests.
public func builtProduct(_ name: String) -> String {
    let testBundle = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    var dir = testBundle.deletingLastPathComponent()
    while dir.path != "/" {
        let candidate = dir.appendingPathComponent(name).path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        dir.deleteLastPathComponent()
    }
    return packageRoot.appendingPathComponent(".build/debug/\(name)").path
}

/// Waits for a child started with Foundation's `Process` to exit, killing it after `seconds`.
/// Not `Process.waitUntilExit`: under parallel tests Foundation's reaping can wait forever for a child that
/// has already exited, since it runs on Dispatch workers that blocked tests occupy. Reaping here first is
/// harmless to Foundation, which then finds nothing left to wait for.
public func reap(_ process: Process, seconds: Double = 10) {
    let pid = process.processIdentifier
    guard pid > 0 else { return }
    let deadline = Date().addingTimeInterval(seconds)
    var status: Int32 = 0
    while Date() < deadline {
        let result = waitpid(pid, &status, WNOHANG)
        if result == pid || (result < 0 && errno == ECHILD) { return }
        usleep(20_000)
    }
    kill(pid, SIGKILL)
    _ = waitpid(pid, &status, 0)
}

/// Runs blocking work (processes, sleeps, seconds of computation) on a thread of its own. Swift's cooperative
/// pool has one thread per core (two here): a test that blocks them stalls every test running beside it in
/// this process, and those tests' deadlines run out while they cannot run.
public func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}
