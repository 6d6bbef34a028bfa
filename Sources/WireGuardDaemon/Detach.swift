import Glibc

/// Daemonizing without fork (unsafe in a Swift process): the parent spawns itself in the foreground in a new
/// session, with /dev/null as stdio, and waits for one byte on a pipe that says the interface is up.
public enum Detach {
    public enum Outcome { case ready, failed(String) }

    private static let readyVariable = "WG_ICE_WIREGUARD_READY_FD"

    public static func spawnChild(interface: String) -> Outcome {
        var pipeFDs: [Int32] = [0, 0]
        guard pipe(&pipeFDs) == 0 else { return .failed("pipe: \(String(cString: strerror(errno)))") }
        _ = fcntl(pipeFDs[0], F_SETFD, FD_CLOEXEC)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for fd in Int32(0)...2 {
            posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0)
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // POSIX_SPAWN_SETSID (glibc 2.26), which Swift does not import.
        posix_spawnattr_setflags(&attributes, 0x80)
        // The resolved path, not /proc/self/exe: that would name the process `exe` for ps, pgrep and ss.
        let executable = Self.ownPath() ?? "/proc/self/exe"
        let arguments = [CommandLine.arguments[0], "--foreground", interface]
        let environment = ProcessInfoLite.environment + ["\(readyVariable)=\(pipeFDs[1])"]
        var pid: pid_t = 0
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        let spawned = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        close(pipeFDs[1])
        defer { close(pipeFDs[0]) }
        guard spawned == 0 else { return .failed("cannot start the daemon: \(String(cString: strerror(spawned)))") }
        var byte: UInt8 = 0
        if read(pipeFDs[0], &byte, 1) == 1 { return .ready }
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        return .failed("the daemon exited before \(interface) was ready (run with --foreground to see why)")
    }

    private static func ownPath() -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        return n > 0 ? String(cString: buffer) : nil
    }

    /// Tells a waiting parent that the interface and its UAPI socket are ready.
    public static func signalReady() {
        guard let text = getenv(readyVariable), let fd = Int32(String(cString: text)) else { return }
        unsetenv(readyVariable)
        var byte: UInt8 = 1
        _ = write(fd, &byte, 1)
        close(fd)
    }
}

/// The environment without Foundation.
enum ProcessInfoLite {
    static var environment: [String] {
        var out = [String]()
        var p = environ
        while let entry = p.pointee {
            let text = String(cString: entry)
            if !text.hasPrefix("WG_ICE_WIREGUARD_READY_FD=") { out.append(text) }
            p += 1
        }
        return out
    }
}
