import ArgumentParser
import CLISupport
import ConfParser
import Foundation
import Logging

/// The FILE argument shared by the configuration commands, and the rule they share: report every
/// error as `path:line: message` on stderr and exit 2 when there is one.
struct ConfigInput: ParsableArguments {
    @Argument(help: "A wg-quick configuration file, e.g. /etc/wireguard/wg0.conf.")
    var file: String

    @Flag(name: .shortAndLong, help: "Log what was parsed to stderr.")
    var verbose = false

    /// Parses the file and prints its diagnostics; throws exit code 2 when it is not valid.
    func load() throws -> ParseResult {
        bootstrapLogging(level: verbose ? .debug : .warning)
        let logger = Logger(label: "wg-ice-hook")
        let result = try parseConfiguration(file)
        let config = result.configuration
        logger.debug("parsed \(file)", metadata: [
            "peers": "\(config.peers.count)", "ice": "\(config.hasICESettings)", "errors": "\(result.errors.count)",
        ])
        return result
    }
}

/// Parses `file`, prints its diagnostics, and throws exit code 2 unless it is valid.
func parseConfiguration(_ file: String) throws -> ParseResult {
    let result: ParseResult
    do {
        result = try ConfParser.parse(contentsOf: file)
    } catch {
        printError("\(error)")
        throw ExitCode(2)
    }
    printErrors(result.diagnostics.map(\.description))
    guard result.isValid else { throw ExitCode(2) }
    return result
}

func printError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}
