import ArgumentParser
import Foundation
import Session

struct Down: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Stop the ICE session of an interface (the PreDown hook).",
        discussion: "The session says bye to its peers and removes every nftables rule and proxy socket it created; WireGuard keeps its last endpoints. No session running is not an error; the interface's nftables table is then deleted if a killed session or wg-ice-resolve --apply left one."
    )

    @Argument(help: "The WireGuard interface.")
    var interface: String

    func run() throws {
        guard isValidInterfaceName(interface) else {
            printError("\(interface): not a valid interface name")
            throw ExitCode(2)
        }
        let socket = RuntimeFiles.socket(interface)
        guard let pid = runningSession(interface) else {
            unlink(socket)
            unlink(RuntimeFiles.pidfile(interface))
            removeLeftoverPaths(interface: interface)
            return
        }
        if (try? controlRequest("stop", path: socket)) == nil { kill(pid, SIGTERM) }
        let stopped = waitForExit(pid, seconds: 10)
        if !stopped {
            printError("\(interface): session \(pid) did not stop; killing it")
            kill(pid, SIGKILL)
            _ = waitForExit(pid, seconds: 2)
        }
        // A session killed before it could clean up (e.g. SIGTERM during start) leaves its files.
        unlink(socket)
        unlink(RuntimeFiles.pidfile(interface))
        if !stopped { throw ExitCode(1) }
    }
}

func waitForExit(_ pid: pid_t, seconds: Double) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if !isRunning(pid) { return true }
        usleep(20_000)
    }
    return false
}

/// Alive and not a zombie: a detached session's parent is init, which in a container may never reap it.
func isRunning(_ pid: pid_t) -> Bool {
    guard kill(pid, 0) == 0 || errno == EPERM else { return false }
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")") else { return true }
    return !stat[close...].hasPrefix(") Z")
}
