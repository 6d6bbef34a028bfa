import ArgumentParser
import CLISupport

/// Synchronous, not AsyncParsableCommand: an async main would start Swift's thread pool before the foreground
/// session can drop privileges, which must happen while the process has a single thread (`Privileges`).
@main
struct WgIceHook: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wg-ice-hook",
        abstract: "NAT traversal for WireGuard through ICE, driven from a wg-quick configuration.",
        discussion: "`wg-ice-hook IFACE` (as in `PostUp = wg-ice-hook %i`) is `wg-ice-hook up IFACE`.",
        version: wgIceVersion,
        subcommands: [Up.self, Down.self, Status.self, Watch.self, Check.self, Strip.self],
        defaultSubcommand: Up.self
    )
}
