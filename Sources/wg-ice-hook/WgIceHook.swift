import ArgumentParser
import CLISupport

@main
struct WgIceHook: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wg-ice-hook",
        abstract: "NAT traversal for WireGuard through ICE, driven from a wg-quick configuration.",
        version: wgIceVersion,
        subcommands: [Check.self, Strip.self]
    )
}
