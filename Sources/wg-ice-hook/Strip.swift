import ArgumentParser
import ConfParser
import Foundation

struct Strip: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the configuration without wg-quick keys and wg-ice settings, for wg setconf/syncconf.",
        discussion: "Like `wg-quick strip`, but also removes the [ICE] section and the commented #[ICE] block. The file is validated first: an invalid file prints its errors on stderr, nothing on stdout, and exits 2."
    )

    @OptionGroup var input: ConfigInput

    func run() throws {
        FileHandle.standardOutput.write(Data(try input.load().stripped))
    }
}
