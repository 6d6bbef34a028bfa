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
        guard json else { return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        print(String(decoding: try encoder.encode(result.configuration), as: UTF8.self))
    }
}
