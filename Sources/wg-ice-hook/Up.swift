import ArgumentParser
import ConfParser
import Foundation
import Logging
import Session

struct Up: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start the ICE session of a WireGuard interface (the PostUp hook).",
        discussion: "Validates the configuration (errors on stderr, exit 2), then starts the session in the background with a pidfile and control socket under /run/wg-ice/, and returns without waiting for ICE. With --foreground the session runs in this process until the interface goes away, `wg-ice-hook down`, SIGINT or SIGTERM."
    )

    @Argument(help: "The WireGuard interface, e.g. wg0.")
    var interface: String

    @Option(help: "The configuration file (default /etc/wireguard/IFACE.conf).")
    var config: String?

    @Flag(help: "Run the session in this process, logging to stderr.")
    var foreground = false

    @Flag(help: .hidden)
    var syslog = false

    func run() throws {
        guard isValidInterfaceName(interface) else {
            printError("\(interface): not a valid interface name")
            throw ExitCode(2)
        }
        let path = config ?? "/etc/wireguard/\(interface).conf"
        let configuration = try parseConfiguration(path).configuration
        guard configuration.hasICESettings else {
            printError("\(path): no [ICE] section or #[ICE] block: nothing for wg-ice-hook to do")
            throw ExitCode(2)
        }
        let settings: SessionSettings
        do {
            settings = try SessionSettings(configuration, interface: interface)
        } catch {
            printError("\(path): \(error)")
            throw ExitCode(2)
        }
        let account: SessionAccount
        do {
            account = try SessionAccount(user: settings.user)
        } catch {
            printError("\(path): \(error)")
            throw ExitCode(2)
        }
        if let pid = runningSession(interface), pid != getpid() {
            printError("\(interface): a session is already running (pid \(pid))")
            throw ExitCode(1)
        }
        if foreground {
            try runForeground(interface: interface, settings: settings, account: account,
                              level: .init(rawValue: configuration.ice.logLevel.rawValue) ?? .info, syslog: syslog)
        } else {
            try detach(interface: interface, config: URL(fileURLWithPath: path).path)
        }
    }
}
