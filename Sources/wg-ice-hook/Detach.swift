import ArgumentParser
import Foundation
import Session

/// Starts `wg-ice-hook up IFACE --foreground` as a new process in its own session with stdio on /dev/null.
func detach(interface: String, config: String) throws {
    try RuntimeFiles.prepare()
    let pid: pid_t
    do {
        pid = try spawnSelf(["up", interface, "--config", config, "--foreground", "--syslog"], detached: true)
    } catch {
        printError("\(interface): cannot start the session: \(error)")
        throw ExitCode(1)
    }
    // Written here as well as by the child, so `down` right after `up` finds the session.
    try writePidfile(interface, pid: pid)
}

/// Runs this executable again with `arguments`: a fresh exec rather than fork, because forking a multithreaded
/// Swift process leaves locks of threads that no longer exist in the child. `detached`: in a new session
/// (setsid) with stdout and stderr on /dev/null; otherwise they are inherited. Stdin is always /dev/null.
func spawnSelf(_ arguments: [String], detached: Bool) throws -> pid_t {
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    // The spawning thread may be a Dispatch worker with signals blocked or ignored: the child starts with none
    // blocked and default dispositions, or SIGTERM would never reach it.
    var empty = sigset_t(), defaults = sigset_t()
    sigemptyset(&empty)
    sigemptyset(&defaults)
    for number in [SIGTERM, SIGINT, SIGHUP, SIGPIPE] { sigaddset(&defaults, number) }
    posix_spawnattr_setsigmask(&attributes, &empty)
    posix_spawnattr_setsigdefault(&attributes, &defaults)
    let flags = Int32(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF) | (detached ? spawnSetsid : 0)
    posix_spawnattr_setflags(&attributes, Int16(flags))
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    for fd in Int32(0)...(detached ? 2 : 0) {
        posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0)
    }
    let cArgs = (["wg-ice-hook"] + arguments).map { strdup($0) } + [nil]
    let cEnv = ProcessInfo.processInfo.environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer { (cArgs + cEnv).forEach { free($0) } }
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, "/proc/self/exe", &actions, &attributes, cArgs, cEnv)
    guard rc == 0 else { throw SessionError.interface(String(cString: strerror(rc))) }
    return pid
}

func writePidfile(_ interface: String, pid: pid_t) throws {
    try "\(pid)\n".write(toFile: RuntimeFiles.pidfile(interface), atomically: true, encoding: .utf8)
}

/// glibc's POSIX_SPAWN_SETSID (<spawn.h>, only under _GNU_SOURCE, which Swift's Glibc module does not set).
private let spawnSetsid: Int32 = 0x80
