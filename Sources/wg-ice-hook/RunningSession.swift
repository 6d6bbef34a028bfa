import Foundation
import Session

/// The pid in the interface's pidfile, if that process is alive and is a session of this interface. A session
/// that dropped privileges cannot remove its files when it ends, and its pid may be reused later: only a
/// process whose command line is `... IFACE ... --foreground` counts.
func runningSession(_ interface: String) -> pid_t? {
    guard let text = try? String(contentsOfFile: RuntimeFiles.pidfile(interface), encoding: .utf8),
          let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 0,
          isRunning(pid), let cmdline = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return nil }
    let arguments = cmdline.split(separator: 0).dropFirst().map { String(decoding: $0, as: UTF8.self) }
    return arguments.contains(interface) && arguments.contains("--foreground") ? pid : nil
}

/// Removes the pidfile and control socket of an interface that has no running session.
func removeStaleFiles(_ interface: String) {
    guard runningSession(interface) == nil else { return }
    unlink(RuntimeFiles.socket(interface))
    unlink(RuntimeFiles.pidfile(interface))
}
