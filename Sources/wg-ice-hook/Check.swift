import ArgumentParser
import ConfParser
import Foundation

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Validate a configuration: exit 0 when valid, 2 with every error on stderr when not.",
        discussion: "Errors are printed as FILE:LINE: MESSAGE. Warnings (such as SaveConfig = true together with wg-ice settings) are printed the same way but do not fail the check."
    )

    @OptionGroup var input: ConfigInput

    @Flag(help: "Print the parsed configuration as JSON on stdout (private key, preshared keys and TURN password redacted).")
    var json = false

    func run() throws {
        let result = try input.load()
        guard json else {
            // Where a session's STUN/TURN servers will come from: the file's URLs take precedence over the signaling server's.
            let ice = result.configuration.ice
            guard result.configuration.hasICESettings else { return }
            if ice.servers.isEmpty {
                print("ICE servers: none in the file; from the signaling server when it hands them out (wg-ice-signal --ice-server)")
            } else {
                print("ICE servers: from the file (URLs): \(ice.servers.map(\.description).joined(separator: ", "))")
            }
            return
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        print(String(decoding: try encoder.encode(result.configuration), as: UTF8.self))
    }
}
