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
    ///
    /// posix_spawn and waitpid rather than Foundation's Process, whose waitUntilExit depends on Dispatch workers
    /// to reap the child and can stall when they are busy. The child gets an empty signal mask (the calling
    /// thread may block signals) and the caller's ambient capabilities, which is how a session that dropped
    /// privileges keeps CAP_NET_ADMIN for nft.
    @discardableResult
    static func run(_ script: String, ignoring: String? = nil) throws -> String {
        guard let binary else { throw DataPathError.nftablesUnavailable }
        let input = try CloseOnExecPipe(), output = try CloseOnExecPipe(), errors = try CloseOnExecPipe()
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, input.read, 0)
        posix_spawn_file_actions_adddup2(&actions, output.write, 1)
        posix_spawn_file_actions_adddup2(&actions, errors.write, 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK))
        let argv: [UnsafeMutablePointer<CChar>?] = ([binary, "-f", "-"] as [String]).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, binary, &actions, &attributes, argv, environ)
        input.closeRead(); output.closeWrite(); errors.closeWrite()
        defer { input.closeWrite(); output.closeRead(); errors.closeRead() }
        guard spawned == 0 else { throw DataPathError.nftables("cannot run \(binary): \(String(cString: strerror(spawned)))") }
        // nft reads its whole script before writing anything, so writing first and then reading cannot deadlock.
        input.writeAll(Array(script.utf8))
        input.closeWrite()
        let out = output.readAll(), message = String(decoding: errors.readAll(), as: UTF8.self)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let exitedCleanly = status & 0x7f == 0 && (status >> 8) & 0xff == 0
        guard exitedCleanly || ignoring.map(message.contains) == true else {
            throw DataPathError.nftables(message.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// A pipe whose descriptors are not inherited by other children spawned concurrently (wireguard-go or nft
/// started from another thread must not hold this pipe open).
private final class CloseOnExecPipe {
    private(set) var read: Int32 = -1
    private(set) var write: Int32 = -1

    init() throws {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { throw DataPathError.nftables("pipe: \(String(cString: strerror(errno)))") }
        // pipe2 is hidden behind _GNU_SOURCE; the window before FD_CLOEXEC is a few instructions.
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        (read, write) = (fds[0], fds[1])
    }

    deinit { closeRead(); closeWrite() }

    func closeRead() { if read >= 0 { close(read); read = -1 } }
    func closeWrite() { if write >= 0 { close(write); write = -1 } }

    func writeAll(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.write(write, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return }  // nft died; its exit status tells why
            offset += n
        }
    }

    func readAll() -> [UInt8] {
        var result: [UInt8] = [], buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(read, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return result }
            result.append(contentsOf: buffer[..<n])
        }
    }
}
