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
@discardableResult
public func run(_ argv: [String], input: String? = nil, environment: [String: String] = [:]) throws -> CommandResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = argv
    var env = ProcessInfo.processInfo.environment
    env["PATH"] = (env["PATH"] ?? "") + ":/usr/sbin:/sbin:/usr/local/sbin"
    for (key, value) in environment { env[key] = value }
    process.environment = env
    let outPipe = Pipe(), errPipe = Pipe(), inPipe = Pipe()
    process.standardOutput = outPipe
    process.standardError = errPipe
    process.standardInput = inPipe
    try process.run()
    if let input { inPipe.fileHandleForWriting.write(Data(input.utf8)) }
    try inPipe.fileHandleForWriting.close()
    // Drain both pipes concurrently so a chatty child cannot block on a full pipe.
    nonisolated(unsafe) var errData = Data()
    let group = DispatchGroup()
    DispatchQueue.global().async(group: group) { errData = errPipe.fileHandleForReading.readDataToEndOfFile() }
    let outData = outPipe.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    process.waitUntilExit()
    return CommandResult(status: process.terminationStatus,
                         stdout: String(decoding: outData, as: UTF8.self),
                         stderr: String(decoding: errData, as: UTF8.self))
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
