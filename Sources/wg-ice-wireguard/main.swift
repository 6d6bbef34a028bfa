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

func fail(_ message: String) -> Never {
    printError("wg-ice-wireguard: \(message)")
    exit(1)
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
    // Looked up while NSS is still readable; used once the TUN and the sockets are open.
    var account: PrivilegeDrop.Account?
    if geteuid() == 0 { account = try PrivilegeDrop.Account.fromEnvironment() }
    loop = try EventLoop(interface: interface)
    if let account, !account.isRoot {
        try PrivilegeDrop.drop(to: account)
        if let note = account.note { printError("wg-ice-wireguard: \(interface): \(note)") }
    }
} catch {
    fail(error.description)
}
Detach.signalReady()
if let error = loop.run() { fail(error.description) }
