import Glibc
import WireGuardDaemon

/// wg-ice-wireguard [--foreground] IFACE: a userspace WireGuard with wireguard-go's command line.
let usage = "usage: wg-ice-wireguard [-f|--foreground] INTERFACE-NAME"
var arguments = Array(CommandLine.arguments.dropFirst())
let foreground = arguments.first == "-f" || arguments.first == "--foreground"
if foreground { arguments.removeFirst() }
guard arguments.count == 1, let interface = arguments.first, !interface.isEmpty, interface.utf8.count < 16,
      !interface.contains("/") else {
    printError(usage)
    exit(2)
}

func printError(_ text: String) {
    let bytes = Array((text + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}

func fail(_ message: String, status: Int32 = 1) -> Never {
    printError("wg-ice-wireguard: \(message)")
    exit(status)
}

// Looked up before detaching, so that a bad WG_ICE_WIREGUARD_USER is reported to whoever started us, and while
// NSS is readable; the drop comes once the TUN and the sockets are open.
var account: DaemonAccount?
if geteuid() == 0 {
    do throws(DaemonError) { account = try DaemonAccount.fromEnvironment() } catch { fail(error.description, status: 2) }
    if let note = account?.note, !foreground { printError("wg-ice-wireguard: \(interface): \(note)") }
}
if !foreground {
    // Like wireguard-go: the child does the work, the parent returns once the interface and its UAPI socket exist.
    switch Detach.spawnChild(interface: interface) {
    case .ready: exit(0)
    case .failed(let message): fail(message)
    }
}
var loop: EventLoop
do throws(DaemonError) {
    loop = try EventLoop(interface: interface)
    if let account, !account.isRoot {
        try account.drop()
        if let note = account.note { printError("wg-ice-wireguard: \(interface): \(note)") }
    }
} catch {
    fail(error.description)
}
Detach.signalReady()
if let error = loop.run() { fail(error.description) }
