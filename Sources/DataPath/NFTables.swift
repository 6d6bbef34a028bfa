import Foundation

/// The session's nftables table (`inet wg-ice-IFACE`): every rule the data paths install lives in it, so
/// removing the session removes exactly what it added. Peers get their own chains inside it. The table is
/// named after the interface, so a session starts by deleting one a crashed predecessor may have left.
///
/// nft is run as `nft -f -` rather than through libnftables: Debian ships no libnftables headers, the
/// scripts are only run at path setup and teardown (never per packet), `-f` applies a script as one atomic
/// transaction, and the text is the same one documented in docs/ARCHITECTURE.md. A session that drops
/// privileges must keep CAP_NET_ADMIN as an ambient capability for the nft it executes.
public struct NFTablesTable: Sendable, Equatable {
    public let name: String

    public init(interface: String) {
        name = "wg-ice-\(interface)"
    }

    /// Whether nft exists and may change the ruleset here (a harmless no-op transaction).
    /// The probe's table name cannot be a session's: interface names have at most 15 characters.
    public static func isAvailable() -> Bool {
        let probe = "inet wg-ice-availability-probe"
        return (try? NFTables.run("add table \(probe)\ndelete table \(probe)\n")) != nil
    }

    /// Creates the table (no-op if it exists).
    public func create() throws {
        try NFTables.run("add table inet \(name)\n")
    }

    /// Deletes the table and everything in it; succeeds if it is already gone.
    public func delete() throws {
        try NFTables.run("delete table inet \(name)\n", ignoring: "No such file or directory")
    }

    /// The table's ruleset as nft prints it, or nil if the table does not exist.
    public func list() -> String? {
        try? NFTables.run("list table inet \(name)\n")
    }
}

enum NFTables {
    static let binary = ["/usr/sbin/nft", "/sbin/nft", "/usr/bin/nft"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Runs `script` as one transaction; returns nft's output. An error whose text contains `ignoring` counts as success.
    @discardableResult
    static func run(_ script: String, ignoring: String? = nil) throws -> String {
        guard let binary else { throw DataPathError.nftablesUnavailable }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["-f", "-"]
        let input = Pipe(), output = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        input.fileHandleForWriting.write(Data(script.utf8))
        try input.fileHandleForWriting.close()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let err = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let message = String(decoding: err, as: UTF8.self)
        guard process.terminationStatus == 0 || ignoring.map(message.contains) == true else {
            throw DataPathError.nftables(message.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return String(decoding: out, as: UTF8.self)
    }
}
