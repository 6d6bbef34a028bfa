import ArgumentParser
import CLISupport
import Foundation
import Logging

struct Watch: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Attach a session to every WireGuard interface that appears and whose configuration has wg-ice settings.",
        discussion: "Follows UAPI sockets (inotify) and kernel links (rtnetlink) in this network namespace. For each interface with DIR/IFACE.conf holding a Signaling URL it runs `wg-ice-hook up IFACE --foreground --config DIR/IFACE.conf` as a child (each child drops its own privileges), restarts a child that dies while its interface exists (with backoff), and leaves alone an interface that already has a session (e.g. from a PostUp hook). A child ends with its interface; SIGTERM, SIGINT or SIGHUP stop every child, then the watch."
    )

    @Option(name: .customLong("config-dir"), help: "Where IFACE.conf files are looked up.")
    var configDirectory = "/etc/wireguard"

    @Flag(name: .shortAndLong, help: "Log debug messages.")
    var verbose = false

    func run() throws {
        bootstrapLogging(level: verbose ? .debug : .info)
        signal(SIGPIPE, SIG_IGN)
        let supervisor = try Supervisor(configDirectory: configDirectory, logger: Logger(label: "wg-ice-hook.watch"))
        try blockOn { await supervisor.run() }
    }
}
