import ArgumentParser
import CLISupport

@main
struct WgIceHook: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wg-ice-hook",
        abstract: "NAT traversal for WireGuard through ICE, driven from a wg-quick configuration.",
        discussion: "`wg-ice-hook IFACE` (as in `PostUp = wg-ice-hook %i`) is `wg-ice-hook up IFACE`.",
        version: wgIceVersion,
        subcommands: [Up.self, Down.self, Status.self, Check.self, Strip.self],
        defaultSubcommand: Up.self
    )
}
